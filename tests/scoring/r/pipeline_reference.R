# Reference values for the satisfaction pipeline, computed with R's survey package.
#
# Run from the repository root (inputs from make_pipeline_inputs.py):
#   Rscript tests/scoring/r/pipeline_reference.R
# Reads  pipeline_responses.csv, pipeline_responses_weighted.csv, pipeline_margins.csv,
#        pipeline_domain_weights.csv
# Writes pipeline_reference.csv     statistic,value (full precision)
#        pipeline_weights.csv       response_id,weight (raked)
#        pipeline_bootstrap_factors.csv  town,point,r1..r50 (R's subbootstrap draws)
#
# Definitions follow docs/statistics.md: item score (x-1)/(K-1)*100; domain score = mean
# of the answered aspect items; domain index = ratio on the full design (subset());
# satisfied rate = share answering 4 or 5, svyciprop logit interval; overall index =
# sum a_d theta_d, its SE from the linearized combination (svycontrast); df = #PSU - #strata.
suppressPackageStartupMessages(library(survey))
here <- "tests/scoring/r"
options(survey.lonely.psu = "fail", warn = 1)
K <- 5
out <- list()
put <- function(name, value) out[[name]] <<- unname(as.numeric(value))[1]

responses <- read.csv(file.path(here, "pipeline_responses.csv"), stringsAsFactors = FALSE,
                      na.strings = "", check.names = FALSE, colClasses = c(response_id = "character"))
margins <- read.csv(file.path(here, "pipeline_margins.csv"), stringsAsFactors = FALSE)
domain_weight_file <- read.csv(file.path(here, "pipeline_domain_weights.csv"), stringsAsFactors = FALSE)

items <- grep("\\.", names(responses), value = TRUE)
domains <- unique(sub("\\..*$", "", items))
aspects <- lapply(domains, function(d) setdiff(grep(paste0("^", d, "\\."), items, value = TRUE), paste0(d, ".overall")))
names(aspects) <- domains
all_aspects <- unlist(aspects)

# --- Screening (first reason wins: partial, duplicate_browser, speeder, straight_liner)
reason <- rep("", nrow(responses))
reason[!is.na(responses$state) & responses$state == "partial"] <- "partial"
dup <- !is.na(responses$flags) & grepl("(^|;)duplicate_browser(;|$)", responses$flags)
reason[reason == "" & dup] <- "duplicate_browser"
eligible <- reason == "" & !is.na(responses$duration_s)
median_duration <- median(responses$duration_s[eligible])
reason[reason == "" & !is.na(responses$duration_s) & responses$duration_s < median_duration / 3] <- "speeder"
codes <- as.matrix(responses[, all_aspects])
answered <- rowSums(!is.na(codes))
lowest <- suppressWarnings(apply(codes, 1, min, na.rm = TRUE))
highest <- suppressWarnings(apply(codes, 1, max, na.rm = TRUE))
reason[reason == "" & answered >= 8 & lowest == highest] <- "straight_liner"
for (r in c("partial", "duplicate_browser", "speeder", "straight_liner")) put(paste0("excluded_", r), sum(reason == r))

prepare <- function(frame) {
  frame <- frame[reason == "", ]
  for (d in domains) {
    scores <- (as.matrix(frame[, aspects[[d]], drop = FALSE]) - 1) / (K - 1) * 100
    s <- rowMeans(scores, na.rm = TRUE)
    has <- !is.nan(s)
    # Rows outside a domain hold 0, not NA: R's estimators on subset() of a calibrated
    # design keep those rows (with zero weight), and an NA there would make the result NA.
    frame[[paste0("s_", d)]] <- ifelse(has, s, 0)
    frame[[paste0("den_", d)]] <- as.numeric(has)
    frame[[paste0("num_", d)]] <- ifelse(has, s, 0)
  }
  for (code in c(domains, "overall")) {
    o <- frame[[if (code == "overall") "overall" else paste0(code, ".overall")]]
    frame[[paste0("ans_", code)]] <- as.numeric(!is.na(o))
    frame[[paste0("sat_", code)]] <- ifelse(is.na(o), 0, as.numeric(o >= K - 1))
  }
  frame
}
analysed <- prepare(responses)
put("n_analysed", nrow(analysed))

population_of <- function(variable) {
  m <- margins[margins$variable == variable, ]
  data.frame(level = m$level, Freq = m$population, stringsAsFactors = FALSE)
}
pop_list <- lapply(c("town", "sex", "age_group"), function(v) { p <- population_of(v); names(p)[1] <- v; p })
rake_margins <- list(~town, ~sex, ~age_group)
rake_control <- list(maxit = 1000, epsilon = 1e-10)

analysed$unit_weight <- 1
design0 <- svydesign(ids = ~point, strata = ~town, weights = ~unit_weight, data = analysed, nest = TRUE)
raked <- rake(design0, rake_margins, pop_list, control = rake_control)
df <- degf(raked)
put("df", df)
w <- weights(raked)
write.csv(data.frame(response_id = analysed$response_id, weight = sprintf("%.17g", w)),
          file.path(here, "pipeline_weights.csv"), row.names = FALSE, quote = FALSE)
put("weights_effective_n", sum(w)^2 / sum(w^2))
put("weights_deff", length(w) * sum(w^2) / sum(w)^2)
put("weights_min", min(w)); put("weights_max", max(w))

q <- qt(0.975, df)
overall_expression <- function(a) {
  parse(text = paste(sprintf("%.17g * num_%s / den_%s", a, domains, domains), collapse = " + "))[[1]]
}
totals_formula <- as.formula(paste("~", paste(c(paste0("num_", domains), paste0("den_", domains)), collapse = " + ")))
equal <- rep(1 / length(domains), length(domains))
file_weights <- domain_weight_file$weight[match(domains, domain_weight_file$domain)]
file_weights <- file_weights / sum(file_weights)

estimate_all <- function(design, prefix, replicate = FALSE) {
  for (d in domains) {
    s <- paste0("s_", d)
    m <- svymean(as.formula(paste0("~", s)), subset(design, design$variables[[paste0("den_", d)]] == 1), deff = !replicate)
    put(paste0(prefix, "index_", d), coef(m)); put(paste0(prefix, "se_", d), SE(m))
    if (!replicate) put(paste0(prefix, "deff_", d), deff(m))
    # Same estimate as a ratio on the full design (statistics.md).
    r <- svyratio(as.formula(paste0("~num_", d)), as.formula(paste0("~den_", d)), design)
    put(paste0(prefix, "ratio_index_", d), coef(r)); put(paste0(prefix, "ratio_se_", d), SE(r))
  }
  for (code in c(domains, "overall")) {
    p <- svyciprop(as.formula(paste0("~sat_", code)), subset(design, design$variables[[paste0("ans_", code)]] == 1),
                   method = "logit", df = df)
    put(paste0(prefix, "rate_", code), coef(p)); put(paste0(prefix, "rate_se_", code), sqrt(attr(p, "var")))
    put(paste0(prefix, "rate_low_", code), attr(p, "ci")[1]); put(paste0(prefix, "rate_high_", code), attr(p, "ci")[2])
  }
  for (weighting in c("equal", "file")) {
    a <- if (weighting == "equal") equal else file_weights
    if (replicate) {
      value <- withReplicates(design, function(w, data) {
        sum(a * sapply(domains, function(d) sum(w * data[[paste0("num_", d)]]) / sum(w * data[[paste0("den_", d)]])))
      })
      put(paste0(prefix, "overall_", weighting), coef(value)); put(paste0(prefix, "overall_se_", weighting), SE(value))
    } else {
      value <- svycontrast(svytotal(totals_formula, design), overall_expression(a))
      put(paste0(prefix, "overall_", weighting), coef(value)); put(paste0(prefix, "overall_se_", weighting), SE(value))
    }
  }
}

# --- Linearization on the raked design
estimate_all(raked, "")
for (d in domains) {
  put(paste0("n_", d), sum(analysed[[paste0("den_", d)]]))
  X <- (as.matrix(analysed[, aspects[[d]]]) - 1) / (K - 1) * 100
  X <- X[complete.cases(X), , drop = FALSE]
  k <- ncol(X)
  put(paste0("alpha_", d), k / (k - 1) * (1 - sum(apply(X, 2, var)) / var(rowSums(X))))
}
for (code in c(domains, "overall")) put(paste0("rate_n_", code), sum(analysed[[paste0("ans_", code)]]))
overall <- out[["overall_equal"]]; overall_se <- out[["overall_se_equal"]]
for (target in c(85, 78)) {
  t <- (overall - target) / overall_se
  put(sprintf("target_index_%g_statistic", target), t)
  put(sprintf("target_index_%g_p", target), pt(t, df, lower.tail = FALSE))
}
rate <- out[["rate_overall"]]; rate_se <- out[["rate_se_overall"]]
t <- (rate - 0.85) / rate_se
put("target_rate_85_statistic", t); put("target_rate_85_p", pt(t, df, lower.tail = FALSE))

# --- Subgroups: every domain index and the overall index within each level (full design)
for (variable in c("town", "sex", "age_group")) {
  for (level in sort(unique(analysed[[variable]]))) {
    member <- analysed[[variable]] == level
    for (d in domains) {
      s <- paste0("s_", d)
      keep <- member & analysed[[paste0("den_", d)]] == 1
      key <- paste0("sub_", variable, "_", level, "_", d)
      put(paste0(key, "_n"), sum(keep))
      if (sum(keep) == 0) next
      m <- svymean(as.formula(paste0("~", s)), subset(raked, keep))
      put(paste0(key, "_index"), coef(m)); put(paste0(key, "_se"), SE(m))
    }
    group <- raked
    for (d in domains) {
      group$variables[[paste0("gnum_", d)]] <- analysed[[paste0("num_", d)]] * member
      group$variables[[paste0("gden_", d)]] <- analysed[[paste0("den_", d)]] * member
    }
    f <- as.formula(paste("~", paste(c(paste0("gnum_", domains), paste0("gden_", domains)), collapse = " + ")))
    expression <- parse(text = paste(sprintf("%.17g * gnum_%s / gden_%s", equal, domains, domains), collapse = " + "))[[1]]
    value <- svycontrast(svytotal(f, group), expression)
    key <- paste0("sub_", variable, "_", level, "_overall")
    put(paste0(key, "_index"), coef(value)); put(paste0(key, "_se"), SE(value)); put(paste0(key, "_n"), sum(member))
  }
}

# --- The wrong variance, for contrast: no calibration residuals at all (unraked design
# carrying the raked weights) overstates the SE.
naive <- svydesign(ids = ~point, strata = ~town, weights = w, data = analysed, nest = TRUE)
m <- svymean(~s_healthcare, subset(naive, den_healthcare == 1))
put("naive_se_healthcare", SE(m))

# --- Jackknife JKn, mse = TRUE (statistics.md), every replicate re-raked
jk <- rake(as.svrepdesign(design0, type = "JKn", mse = TRUE), rake_margins, pop_list, control = rake_control)
put("jk_replicates", ncol(weights(jk, "analysis")))
estimate_all(jk, "jk_", replicate = TRUE)

# --- Rao-Wu bootstrap (R's subbootstrap), factors exported, every replicate re-raked
set.seed(4)
boot0 <- as.svrepdesign(design0, type = "subbootstrap", replicates = 50, mse = TRUE)
factors <- weights(boot0, "replication")
first <- !duplicated(paste(analysed$town, analysed$point))
table_factors <- data.frame(town = analysed$town[first], point = analysed$point[first], factors[first, , drop = FALSE])
names(table_factors)[-(1:2)] <- paste0("r", seq_len(ncol(factors)))
write.csv(table_factors, file.path(here, "pipeline_bootstrap_factors.csv"), row.names = FALSE, quote = FALSE)
boot <- rake(boot0, rake_margins, pop_list, control = rake_control)
put("boot_scale", boot$scale)
estimate_all(boot, "boot_", replicate = TRUE)

# --- Unequal base weights: calibrate(calfun = "raking") fits the residuals with d_k
weighted <- read.csv(file.path(here, "pipeline_responses_weighted.csv"), stringsAsFactors = FALSE,
                     na.strings = "", check.names = FALSE, colClasses = c(response_id = "character"))
weighted <- prepare(weighted)
wdesign <- svydesign(ids = ~point, strata = ~town, weights = ~base_weight, data = weighted, nest = TRUE)
wdesign$variables$town <- factor(wdesign$variables$town)
wdesign$variables$sex <- factor(wdesign$variables$sex)
wdesign$variables$age_group <- factor(wdesign$variables$age_group)
mm <- model.matrix(~town + sex + age_group, weighted)
total <- sum(population_of("town")$Freq)
population <- c(`(Intercept)` = total)
for (v in c("town", "sex", "age_group")) {
  p <- population_of(v)
  for (level in levels(factor(weighted[[v]]))[-1]) population[paste0(v, level)] <- p$Freq[p$level == level]
}
population <- population[colnames(mm)]
cal <- calibrate(wdesign, ~town + sex + age_group, population = population, calfun = "raking", epsilon = 1e-13, maxit = 500)
wrk <- rake(wdesign, rake_margins, pop_list, control = rake_control)
put("weighted_max_weight_difference_rake_calibrate", max(abs(weights(cal) / weights(wrk) - 1)))
for (d in domains) {
  s <- paste0("s_", d)
  keep <- weighted[[paste0("den_", d)]] == 1
  m <- svymean(as.formula(paste0("~", s)), subset(cal, keep))
  put(paste0("weighted_index_", d), coef(m)); put(paste0("weighted_se_", d), SE(m))
  m <- svymean(as.formula(paste0("~", s)), subset(wrk, keep))
  put(paste0("weighted_rake_se_", d), SE(m))
}
value <- svycontrast(svytotal(totals_formula, cal), overall_expression(equal))
put("weighted_overall", coef(value)); put("weighted_overall_se", SE(value))

values <- unlist(out)
write.csv(data.frame(statistic = names(values), value = sprintf("%.17g", values)),
          file.path(here, "pipeline_reference.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", length(values), "reference values\n")
