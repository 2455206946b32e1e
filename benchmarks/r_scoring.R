# The scoring job in R's survey package, for the side-by-side timing of bench_scoring.py.
#
#   Rscript benchmarks/r_scoring.R responses.csv margins.csv
#
# Read the responses, compute the respondent domain scores, declare the design (towns as
# strata, points as clusters), rake to the town, sex and age-group margins, and estimate
# the 12 domain indices with svyratio on the full design.  Prints one JSON line with the
# seconds of each step and in total.
suppressPackageStartupMessages(library(survey))
args <- commandArgs(trailingOnly = TRUE)
clock <- function() unname(proc.time()["elapsed"])
started <- clock()

responses <- read.csv(args[1], stringsAsFactors = FALSE, na.strings = "", check.names = FALSE)
margins <- read.csv(args[2], stringsAsFactors = FALSE)
read_seconds <- clock() - started

step <- clock()
items <- grep("\\.", names(responses), value = TRUE)
domains <- unique(sub("\\..*$", "", items))
for (d in domains) {
  aspects <- setdiff(grep(paste0("^", d, "\\."), items, value = TRUE), paste0(d, ".overall"))
  s <- rowMeans((as.matrix(responses[, aspects]) - 1) / 4 * 100, na.rm = TRUE)
  responses[[paste0("den_", d)]] <- as.numeric(!is.nan(s))
  responses[[paste0("num_", d)]] <- ifelse(is.nan(s), 0, s)
}
score_seconds <- clock() - step

step <- clock()
populations <- lapply(c("town", "sex", "age_group"), function(v) {
  m <- margins[margins$variable == v, ]
  p <- data.frame(m$level, m$population, stringsAsFactors = FALSE)
  names(p) <- c(v, "Freq")
  p
})
design <- svydesign(ids = ~point, strata = ~town, weights = ~rep(1, nrow(responses)), data = responses, nest = TRUE)
raked <- rake(design, list(~town, ~sex, ~age_group), populations, control = list(maxit = 100, epsilon = 1e-10))
rake_seconds <- clock() - step

step <- clock()
indices <- sapply(domains, function(d) {
  r <- svyratio(as.formula(paste0("~num_", d)), as.formula(paste0("~den_", d)), raked)
  c(coef(r), SE(r))
})
ratio_seconds <- clock() - step

cat(sprintf(
  '{"n": %d, "seconds": %.3f, "read_seconds": %.3f, "score_seconds": %.3f, "rake_seconds": %.3f, "ratio_seconds": %.3f, "overall_index": %.6f}\n',
  nrow(responses), clock() - started, read_seconds, score_seconds, rake_seconds, ratio_seconds, mean(indices[1, ])
))
