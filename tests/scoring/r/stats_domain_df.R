# Domain degrees of freedom on the satisfaction pipeline fixture (stats engineer's fixture).
#
# Run from the repository root:   Rscript tests/scoring/r/stats_domain_df.R
# Reads  pipeline_responses.csv, pipeline_margins.csv (inputs of pipeline_reference.R)
# Writes stats_domain_df.csv   statistic,value (full precision)
#
# statistics.md, "Degrees of freedom": a domain's df counts the PSUs and strata holding at
# least one of its members, R: degf(subset(design, ...)); index CIs are theta +- t_df SE;
# satisfied rates use svyciprop's default df = degf(subset(design, answered)).  Same
# screening (the rule before issue 10: straight-lining alone) and raking as
# pipeline_reference.R.
suppressPackageStartupMessages(library(survey))
here <- "tests/scoring/r"
options(survey.lonely.psu = "fail", warn = 1)
K <- 5
out <- list()
put <- function(name, value) out[[name]] <<- unname(as.numeric(value))[1]

responses <- read.csv(file.path(here, "pipeline_responses.csv"), stringsAsFactors = FALSE,
                      na.strings = "", check.names = FALSE, colClasses = c(response_id = "character"))
margins <- read.csv(file.path(here, "pipeline_margins.csv"), stringsAsFactors = FALSE)
items <- grep("\\.", names(responses), value = TRUE)
domains <- unique(sub("\\..*$", "", items))
aspects <- lapply(domains, function(d) setdiff(grep(paste0("^", d, "\\."), items, value = TRUE), paste0(d, ".overall")))
names(aspects) <- domains

reason <- rep("", nrow(responses))
reason[!is.na(responses$state) & responses$state == "partial"] <- "partial"
dup <- !is.na(responses$flags) & grepl("(^|;)duplicate_browser(;|$)", responses$flags)
reason[reason == "" & dup] <- "duplicate_browser"
eligible <- reason == "" & !is.na(responses$duration_s)
median_duration <- median(responses$duration_s[eligible])
reason[reason == "" & !is.na(responses$duration_s) & responses$duration_s < median_duration / 3] <- "speeder"
codes <- as.matrix(responses[, unlist(aspects)])
answered <- rowSums(!is.na(codes))
lowest <- suppressWarnings(apply(codes, 1, min, na.rm = TRUE))
highest <- suppressWarnings(apply(codes, 1, max, na.rm = TRUE))
reason[reason == "" & answered >= 8 & lowest == highest] <- "straight_liner"
analysed <- responses[reason == "", ]
for (d in domains) {
  s <- rowMeans((as.matrix(analysed[, aspects[[d]], drop = FALSE]) - 1) / (K - 1) * 100, na.rm = TRUE)
  analysed[[paste0("s_", d)]] <- ifelse(is.nan(s), 0, s)
  analysed[[paste0("den_", d)]] <- as.numeric(!is.nan(s))
}
for (code in c(domains, "overall")) {
  o <- analysed[[if (code == "overall") "overall" else paste0(code, ".overall")]]
  analysed[[paste0("ans_", code)]] <- as.numeric(!is.na(o))
  analysed[[paste0("sat_", code)]] <- ifelse(is.na(o), 0, as.numeric(o >= K - 1))
}
pop_list <- lapply(c("town", "sex", "age_group"), function(v) {
  m <- margins[margins$variable == v, ]
  p <- data.frame(level = m$level, Freq = m$population, stringsAsFactors = FALSE)
  names(p)[1] <- v
  p
})
analysed$unit_weight <- 1
design0 <- svydesign(ids = ~point, strata = ~town, weights = ~unit_weight, data = analysed, nest = TRUE)
raked <- rake(design0, list(~town, ~sex, ~age_group), pop_list, control = list(maxit = 1000, epsilon = 1e-10))
put("df", degf(raked))
for (d in domains) {
  sub <- subset(raked, raked$variables[[paste0("den_", d)]] == 1)
  m <- svymean(as.formula(paste0("~s_", d)), sub)
  df <- degf(sub)
  put(paste0("df_", d), df)
  put(paste0("psus_", d), length(unique(sub$cluster[weights(sub, "sampling") != 0, 1])))
  put(paste0("ci_low_", d), coef(m) - qt(0.975, df) * SE(m))
  put(paste0("ci_high_", d), coef(m) + qt(0.975, df) * SE(m))
}
for (code in c(domains, "overall")) {
  sub <- subset(raked, raked$variables[[paste0("ans_", code)]] == 1)
  p <- svyciprop(as.formula(paste0("~sat_", code)), sub, method = "logit")  # default df = degf(sub)
  put(paste0("rate_df_", code), degf(sub))
  put(paste0("rate_low_", code), attr(p, "ci")[1]); put(paste0("rate_high_", code), attr(p, "ci")[2])
}
# Subgroups: the df of every (variable, level, domain) cell and of each level.
for (variable in c("town", "sex", "age_group")) {
  for (level in sort(unique(analysed[[variable]]))) {
    member <- analysed[[variable]] == level
    put(paste0("sub_", variable, "_", level, "_overall_df"), degf(subset(raked, member)))
    for (d in domains) {
      keep <- member & analysed[[paste0("den_", d)]] == 1
      if (sum(keep) == 0) next
      put(paste0("sub_", variable, "_", level, "_", d, "_df"), degf(subset(raked, keep)))
    }
  }
}
# Jackknife (JKn, mse, re-raked): the rates' logit intervals with the domain df.
jk <- rake(as.svrepdesign(design0, type = "JKn", mse = TRUE), list(~town, ~sex, ~age_group), pop_list,
           control = list(maxit = 1000, epsilon = 1e-10))
for (code in c(domains, "overall")) {
  df <- out[[paste0("rate_df_", code)]]
  p <- svyciprop(as.formula(paste0("~sat_", code)), subset(jk, jk$variables[[paste0("ans_", code)]] == 1),
                 method = "logit", df = df)
  put(paste0("jk_rate_low_", code), attr(p, "ci")[1]); put(paste0("jk_rate_high_", code), attr(p, "ci")[2])
}
values <- unlist(out)
write.csv(data.frame(statistic = names(values), value = sprintf("%.17g", values)),
          file.path(here, "stats_domain_df.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", length(values), "reference values\n")
