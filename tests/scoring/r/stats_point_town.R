# The design of what Manyi collects, in R (stats engineer's fixture).
#
# Run from the repository root:   Rscript tests/scoring/r/stats_point_town.R
# Reads  stats_point_town_responses.csv  (tests/scoring/support.py: point_town_responses())
#        stats_point_town_margins.csv
# Writes stats_point_town.csv   statistic,value (full precision)
#
# statistics.md, "The design of what Manyi collects": PSU = collection point, strata = the
# point's town; rows without a point (phone, paper) one stratum per channel, each
# respondent its own PSU; lonely PSU "adjust"; raked to residence town, sex and age group.
# Nothing is screened out in these data (no partial, flagged, fast or speeding rows).
suppressPackageStartupMessages(library(survey))
here <- "tests/scoring/r"
options(survey.lonely.psu = "adjust", warn = 1)
K <- 5
out <- list()
put <- function(name, value) out[[name]] <<- unname(as.numeric(value))[1]

responses <- read.csv(file.path(here, "stats_point_town_responses.csv"), stringsAsFactors = FALSE,
                      na.strings = "", check.names = FALSE, colClasses = c(response_id = "character"))
margins <- read.csv(file.path(here, "stats_point_town_margins.csv"), stringsAsFactors = FALSE)
responses$point[is.na(responses$point)] <- ""
responses$point_town[is.na(responses$point_town)] <- ""
responses$stratum <- ifelse(responses$point == "", paste0("channel:", responses$channel), responses$point_town)
responses$psu <- ifelse(responses$point == "", responses$response_id, responses$point)
domains <- c("education", "healthcare")
aspects <- list(education = paste0("education.q", 1:4), healthcare = paste0("healthcare.q", 1:5))
for (mapping in c("linear", "monitoring")) {
  for (d in domains) {
    codes <- as.matrix(responses[, aspects[[d]]])
    scores <- if (mapping == "linear") (codes - 1) / (K - 1) * 100 else codes / K * 100
    s <- rowMeans(scores, na.rm = TRUE)
    responses[[paste0(mapping, "_", d)]] <- ifelse(is.nan(s), 0, s)
    responses[[paste0("den_", d)]] <- as.numeric(!is.nan(s))
    responses[[paste0(mapping, "_num_", d)]] <- ifelse(is.nan(s), 0, s)
  }
}
for (code in c(domains, "overall")) {
  o <- responses[[if (code == "overall") "overall" else paste0(code, ".overall")]]
  responses[[paste0("ans_", code)]] <- as.numeric(!is.na(o))
  responses[[paste0("sat_", code)]] <- ifelse(is.na(o), 0, as.numeric(o >= K - 1))
}
pop_list <- lapply(c("town", "sex", "age_group"), function(v) {
  m <- margins[margins$variable == v, ]
  p <- data.frame(level = m$level, Freq = m$population, stringsAsFactors = FALSE)
  names(p)[1] <- v
  p
})
design0 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~1, data = responses, nest = TRUE)
raked <- rake(design0, list(~town, ~sex, ~age_group), pop_list, control = list(maxit = 1000, epsilon = 1e-10))
put("df", degf(raked))
put("n_psu", length(unique(paste(responses$stratum, responses$psu))))
put("n_strata", length(unique(responses$stratum)))

estimate <- function(design, prefix) {
  for (mapping in c("linear", "monitoring")) {
    for (d in domains) {
      sub <- subset(design, design$variables[[paste0("den_", d)]] == 1)
      m <- svymean(as.formula(paste0("~", mapping, "_", d)), sub)
      r <- svyratio(as.formula(paste0("~", mapping, "_num_", d)), as.formula(paste0("~den_", d)), design)
      key <- paste0(prefix, mapping, "_", d)
      put(paste0(key, "_index"), coef(m)); put(paste0(key, "_se"), SE(m))
      put(paste0(key, "_ratio_se"), SE(r))
      put(paste0(key, "_df"), degf(sub))
      put(paste0(key, "_ci_low"), coef(m) - qt(0.975, degf(sub)) * SE(m))
    }
    f <- as.formula(paste("~", paste(c(paste0(mapping, "_num_", domains), paste0("den_", domains)), collapse = " + ")))
    e <- parse(text = paste(sprintf("0.5 * %s_num_%s / den_%s", mapping, domains, domains), collapse = " + "))[[1]]
    value <- svycontrast(svytotal(f, design), e)
    put(paste0(prefix, mapping, "_overall"), coef(value)); put(paste0(prefix, mapping, "_overall_se"), SE(value))
  }
  for (code in c(domains, "overall")) {
    sub <- subset(design, design$variables[[paste0("ans_", code)]] == 1)
    p <- svyciprop(as.formula(paste0("~sat_", code)), sub, method = "logit")
    put(paste0(prefix, "rate_", code), coef(p)); put(paste0(prefix, "rate_se_", code), sqrt(attr(p, "var")))
    put(paste0(prefix, "rate_df_", code), degf(sub))
    put(paste0(prefix, "rate_low_", code), attr(p, "ci")[1]); put(paste0(prefix, "rate_high_", code), attr(p, "ci")[2])
  }
}
estimate(raked, "")
estimate(design0, "unweighted_")
values <- unlist(out)
write.csv(data.frame(statistic = names(values), value = sprintf("%.17g", values)),
          file.path(here, "stats_point_town.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", length(values), "reference values\n")
