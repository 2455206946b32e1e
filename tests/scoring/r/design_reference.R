# Reference values for the design of what Manyi collects (docs/statistics.md, issue 10),
# computed with R's survey package (4.1.1).
#
# Run from the repository root (inputs from make_design_inputs.py):
#   Rscript tests/scoring/r/design_reference.R
# Reads  design_responses.csv, design_lonely_responses.csv, design_margins.csv
# Writes design_reference.csv        statistic,value (full precision)
#        design_weights.csv          response_id,weight (raked, design_responses.csv)
#        design_lonely_weights.csv   response_id,weight (raked, design_lonely_responses.csv)
#
# The design: PSU = collection point, strata = the point's town (point_town); rows with an
# empty point (phone, paper) form one stratum per channel ("channel:<channel>"), each
# respondent its own PSU; lonely PSUs "adjust"; raked to residence town, sex and age group:
#   stratum = ifelse(point == "", paste0("channel:", channel), point_town)
#   psu     = ifelse(point == "", response_id, point)
#   svydesign(id = ~psu, strata = ~stratum, weights = ~1, data = ...) then rake().
# Definitions follow docs/statistics.md: item score (x-1)/(K-1)*100 ("linear") or x/K*100
# ("monitoring"); domain score = mean of the answered aspect items; domain index = ratio on
# the full design; domain df = degf(subset(design, has a domain score)) and CI = index +-
# t(df) SE; satisfied rate = share answering 4 or 5, svyciprop logit interval with R's
# default df (that of its own subset: those who answered <domain>.overall; also written
# with the design's df as rate_low_design_df_*, rate_high_design_df_*); overall index = equal-weight mean of the domain
# indices, its SE from the linearized combination (svycontrast), CI with the design's df.
#
# Every figure is computed twice, by two routes, and the script stops if they disagree:
# svyratio vs svymean(subset), svycontrast vs svytotal of the hand-written influence
# values, degf vs a count of PSUs and strata, svyciprop vs the logit interval written
# out, R's variance vs a by-hand stratified sum over PSU totals of calibration residuals
# (exact projection; rake() itself backfits), monitoring vs 20 + 0.8 x linear.
suppressPackageStartupMessages(library(survey))
here <- "tests/scoring/r"
options(survey.lonely.psu = "adjust", warn = 1)
K <- 5
out <- list()
put <- function(name, value) out[[name]] <<- unname(as.numeric(value))[1]
same <- function(a, b, what, tolerance = 1e-9) {
  a <- unname(as.numeric(a)); b <- unname(as.numeric(b))
  if (!isTRUE(all.equal(a, b, tolerance = tolerance))) stop(what, ": ", format(a, digits = 17), " vs ", format(b, digits = 17))
}

read_responses <- function(file) {
  read.csv(file.path(here, file), stringsAsFactors = FALSE, na.strings = "", check.names = FALSE,
           colClasses = c(response_id = "character", wave = "character"))
}
margins <- read.csv(file.path(here, "design_margins.csv"), stringsAsFactors = FALSE)
pop_list <- lapply(c("town", "sex", "age_group"), function(v) {
  m <- margins[margins$variable == v, ]
  p <- data.frame(level = m$level, Freq = m$population, stringsAsFactors = FALSE)
  names(p)[1] <- v
  p
})
rake_margins <- list(~town, ~sex, ~age_group)
rake_control <- list(maxit = 1000, epsilon = 1e-12)

prepare <- function(frame, mapping) {
  items <- grep("\\.", names(frame), value = TRUE)
  domains <- unique(sub("\\..*$", "", items))
  score <- if (mapping == "linear") function(x) (x - 1) / (K - 1) * 100 else function(x) x / K * 100
  for (d in domains) {
    aspects <- setdiff(grep(paste0("^", d, "\\."), items, value = TRUE), paste0(d, ".overall"))
    s <- rowMeans(score(as.matrix(frame[, aspects, drop = FALSE])), na.rm = TRUE)
    has <- !is.nan(s)
    # Rows outside a domain hold 0, not NA: estimators on subset() of a calibrated design
    # keep those rows (with zero weight), and an NA there would make the result NA.
    frame[[paste0("s_", d)]] <- ifelse(has, s, 0)
    frame[[paste0("den_", d)]] <- as.numeric(has)
    frame[[paste0("num_", d)]] <- ifelse(has, s, 0)
  }
  for (code in c(domains, "overall")) {
    o <- frame[[if (code == "overall") "overall" else paste0(code, ".overall")]]
    frame[[paste0("ans_", code)]] <- as.numeric(!is.na(o))
    frame[[paste0("sat_", code)]] <- ifelse(is.na(o), 0, as.numeric(o >= K - 1))
  }
  no_point <- is.na(frame$point) | frame$point == ""
  frame$stratum <- ifelse(no_point, paste0("channel:", frame$channel), frame$point_town)
  frame$psu <- ifelse(no_point, frame$response_id, frame$point)
  frame$unit_weight <- 1
  attr(frame, "domains") <- domains
  frame
}

# The variance written out: calibration residuals e = w (z - X beta), beta fitted with the
# weights before calibration (all 1), PSU totals, sum over strata of n/(n-1) sum (t - mean)^2;
# a stratum with one PSU ("adjust") contributes its total squared (the grand mean of the
# residual totals is 0).
by_hand_se <- function(frame, w, z) {
  X <- model.matrix(~ town + sex + age_group, frame)
  beta <- qr.coef(qr(X), z)
  e <- w * (z - X %*% beta)
  totals <- tapply(e, frame$psu, sum)
  stratum_of <- tapply(frame$stratum, frame$psu, function(x) x[1])
  v <- 0
  for (h in unique(stratum_of)) {
    t <- totals[stratum_of == h]
    n <- length(t)
    v <- v + if (n > 1) n / (n - 1) * sum((t - mean(t))^2) else sum(t^2)
  }
  sqrt(v)
}

estimate <- function(frame, prefix, weights_file = NULL) {
  domains <- attr(frame, "domains")
  design0 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~unit_weight, data = frame, nest = TRUE)
  raked <- rake(design0, rake_margins, pop_list, control = rake_control)
  w <- weights(raked)
  if (!is.null(weights_file)) {
    write.csv(data.frame(response_id = frame$response_id, weight = sprintf("%.17g", w)),
              file.path(here, weights_file), row.names = FALSE, quote = FALSE)
  }
  df <- degf(raked)
  same(df, length(unique(frame$psu)) - length(unique(frame$stratum)), "df")
  put(paste0(prefix, "df"), df)
  put(paste0(prefix, "n"), nrow(frame))
  put(paste0(prefix, "n_psu"), length(unique(frame$psu)))
  put(paste0(prefix, "n_strata"), length(unique(frame$stratum)))
  put(paste0(prefix, "weights_effective_n"), sum(w)^2 / sum(w^2))
  for (d in domains) {
    member <- frame[[paste0("den_", d)]] == 1
    sub <- subset(raked, member)
    m <- svymean(as.formula(paste0("~s_", d)), sub)
    r <- svyratio(as.formula(paste0("~num_", d)), as.formula(paste0("~den_", d)), raked)
    same(coef(m), coef(r), paste(prefix, d, "svymean vs svyratio"))
    same(SE(m), SE(r), paste(prefix, d, "SE svymean vs svyratio"))
    total <- sum(w[member])
    z <- ifelse(member, frame[[paste0("s_", d)]] - coef(r), 0) / total
    same(SE(r), by_hand_se(frame, w, z), paste(prefix, d, "SE by hand"), tolerance = 1e-7)
    df_d <- degf(sub)
    same(df_d, length(unique(frame$psu[member])) - length(unique(frame$stratum[member])), paste(prefix, d, "domain df"))
    half <- qt(0.975, df_d) * SE(r)
    put(paste0(prefix, "index_", d), coef(r)); put(paste0(prefix, "se_", d), SE(r))
    put(paste0(prefix, "df_", d), df_d); put(paste0(prefix, "n_", d), sum(member))
    put(paste0(prefix, "psus_", d), length(unique(frame$psu[member])))
    put(paste0(prefix, "ci_low_", d), coef(r) - half); put(paste0(prefix, "ci_high_", d), coef(r) + half)
  }
  for (code in c(domains, "overall")) {
    answered <- frame[[paste0("ans_", code)]] == 1
    sub <- subset(raked, answered)
    formula <- as.formula(paste0("~sat_", code))
    # The logit interval as svycontrast of svymean (method "xlogit"); svyciprop's "logit"
    # route fits svyglm(quasibinomial), which gives the same interval but fails to
    # converge on the 15-resident domain (NaN), so it is only a check where it converges.
    p <- svyciprop(formula, sub, method = "xlogit")
    df_r <- degf(sub)
    estimate <- coef(p); se <- sqrt(attr(p, "var"))
    mean_sat <- svymean(formula, sub)
    same(estimate, coef(mean_sat), paste(prefix, code, "rate"))
    same(se, SE(mean_sat), paste(prefix, code, "rate SE"))
    logit_half <- qt(0.975, df_r) * se / (estimate * (1 - estimate))
    same(attr(p, "ci")[1], plogis(qlogis(estimate) - logit_half), paste(prefix, code, "logit CI low"), tolerance = 1e-8)
    same(attr(p, "ci")[2], plogis(qlogis(estimate) + logit_half), paste(prefix, code, "logit CI high"), tolerance = 1e-8)
    glm_route <- suppressWarnings(svyciprop(formula, sub, method = "logit"))
    if (all(is.finite(attr(glm_route, "ci")))) {
      same(attr(glm_route, "ci"), attr(p, "ci"), paste(prefix, code, "logit vs xlogit"), tolerance = 1e-7)
    } else {
      put(paste0(prefix, "rate_svyglm_failed_", code), 1)
    }
    put(paste0(prefix, "rate_", code), estimate); put(paste0(prefix, "rate_se_", code), se)
    put(paste0(prefix, "rate_low_", code), attr(p, "ci")[1]); put(paste0(prefix, "rate_high_", code), attr(p, "ci")[2])
    put(paste0(prefix, "rate_df_", code), df_r); put(paste0(prefix, "rate_n_", code), sum(answered))
    # The same interval with the whole design's df, for comparison (not R's default).
    design_half <- qt(0.975, df) * se / (estimate * (1 - estimate))
    put(paste0(prefix, "rate_low_design_df_", code), plogis(qlogis(estimate) - design_half))
    put(paste0(prefix, "rate_high_design_df_", code), plogis(qlogis(estimate) + design_half))
  }
  a <- rep(1 / length(domains), length(domains))
  totals_formula <- as.formula(paste("~", paste(c(paste0("num_", domains), paste0("den_", domains)), collapse = " + ")))
  expression <- parse(text = paste(sprintf("%.17g * num_%s / den_%s", a, domains, domains), collapse = " + "))[[1]]
  overall <- svycontrast(svytotal(totals_formula, raked), expression)
  # Route 2: z_k = sum_d a_d I_kd (s_kd - theta_d) / N_d, Var = Var(sum w_k z_k).
  z <- rep(0, nrow(frame))
  for (k in seq_along(domains)) {
    d <- domains[k]
    member <- frame[[paste0("den_", d)]] == 1
    theta <- out[[paste0(prefix, "index_", d)]]
    z <- z + a[k] * ifelse(member, frame[[paste0("s_", d)]] - theta, 0) / sum(w[member])
  }
  same(coef(overall), sum(a * sapply(domains, function(d) out[[paste0(prefix, "index_", d)]])), paste(prefix, "overall"))
  influence <- raked
  influence$variables$z_overall <- z
  same(SE(overall), SE(svytotal(~z_overall, influence)), paste(prefix, "overall SE via influence"))
  same(SE(overall), by_hand_se(frame, w, z), paste(prefix, "overall SE by hand"), tolerance = 1e-7)
  half <- qt(0.975, df) * SE(overall)
  put(paste0(prefix, "overall"), coef(overall)); put(paste0(prefix, "overall_se"), SE(overall))
  put(paste0(prefix, "overall_ci_low"), coef(overall) - half); put(paste0(prefix, "overall_ci_high"), coef(overall) + half)
  invisible(raked)
}

responses <- read_responses("design_responses.csv")
linear <- prepare(responses, "linear")
estimate(linear, "", "design_weights.csv")
monitoring <- prepare(responses, "monitoring")
estimate(monitoring, "monitoring_")
for (key in grep("^(index_|ci_low_|ci_high_|overall$|overall_ci)", names(out), value = TRUE)) {
  same(out[[paste0("monitoring_", key)]], 20 + 0.8 * out[[key]], paste("monitoring = 20 + 0.8 linear:", key), 1e-12)
}
for (key in grep("^(se_|overall_se$)", names(out), value = TRUE)) {
  same(out[[paste0("monitoring_", key)]], 0.8 * out[[key]], paste("monitoring SE = 0.8 linear:", key), 1e-12)
}

lonely <- prepare(read_responses("design_lonely_responses.csv"), "linear")
psus_per_stratum <- tapply(lonely$psu, lonely$stratum, function(x) length(unique(x)))
put("lonely_strata_with_one_psu", sum(psus_per_stratum == 1))
estimate(lonely, "lonely_", "design_lonely_weights.csv")
options(survey.lonely.psu = "fail")
failed <- tryCatch({
  d <- svydesign(ids = ~psu, strata = ~stratum, weights = ~unit_weight, data = lonely, nest = TRUE)
  SE(svymean(~s_healthcare, rake(d, rake_margins, pop_list, control = rake_control)))
  FALSE
}, error = function(e) TRUE)
if (!failed) stop("survey.lonely.psu = 'fail' should refuse the lonely design")
options(survey.lonely.psu = "adjust")

values <- unlist(out)
write.csv(data.frame(statistic = names(values), value = sprintf("%.17g", values)),
          file.path(here, "design_reference.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", length(values), "reference values\n")
