# Reference values for residents who decline a raking question (不愿回答, "refused") and
# residents who live outside the district ("outside"), computed with R's survey package
# (4.1.1).  docs/statistics.md, "Residents who decline a question".
#
# Run from the repository root (inputs from make_refused_inputs.py):
#   Rscript tests/scoring/r/refused_raking.R
# Reads  refused_responses.csv, design_margins.csv
# Writes refused_reference.csv   statistic,value (full precision)
#        refused_weights.csv     response_id,weight
#
# Residents with town == "outside" are left out (screening reason outside_district).  The
# rest are calibrated by raking (calfun = "raking") on
#   the town dummies (population counts, with the intercept: the total N),
#   z_l = I(sex == l) - q_l * I(sex answered) for the answered sexes but one (total 0),
#   the same for the age groups,
# q_l being the population shares of the margins file.  A second route, iterative
# proportional fitting written out (answered levels to their shares among those who
# answered, refusers times the share-weighted geometric mean of those factors, everyone
# times the number that keeps the total N), must give the same weights.
# Design as design_reference.R: PSU = point, strata = the point's town, rows without a
# point one stratum per channel with each respondent its own PSU, lonely PSUs "adjust".
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

all_rows <- read.csv(file.path(here, "refused_responses.csv"), stringsAsFactors = FALSE, na.strings = "",
                     check.names = FALSE, colClasses = c(response_id = "character", wave = "character"))
put("outside_district", sum(all_rows$town == "outside"))
frame <- all_rows[all_rows$town != "outside", ]
put("n", nrow(frame))
put("sex_refused", sum(frame$sex == "refused"))
put("age_refused", sum(frame$age_group == "refused"))

margins <- read.csv(file.path(here, "design_margins.csv"), stringsAsFactors = FALSE)
pop <- function(v) setNames(margins$population[margins$variable == v], margins$level[margins$variable == v])
town_pop <- pop("town"); sex_pop <- pop("sex"); age_pop <- pop("age_group")
N <- sum(town_pop)

items <- grep("\\.", names(frame), value = TRUE)
domains <- unique(sub("\\..*$", "", items))
score <- function(x) (x - 1) / (K - 1) * 100
for (d in domains) {
  aspects <- setdiff(grep(paste0("^", d, "\\."), items, value = TRUE), paste0(d, ".overall"))
  s <- rowMeans(score(as.matrix(frame[, aspects, drop = FALSE])), na.rm = TRUE)
  has <- !is.nan(s)
  frame[[paste0("den_", d)]] <- as.numeric(has)
  frame[[paste0("num_", d)]] <- ifelse(has, s, 0)
}
no_point <- is.na(frame$point) | frame$point == ""
frame$stratum <- ifelse(no_point, paste0("channel:", frame$channel), frame$point_town)
frame$psu <- ifelse(no_point, frame$response_id, frame$point)
# Base weights N/n instead of 1: the same calibrated weights (the intercept absorbs any
# constant), but grake's Newton steps start near the solution instead of diverging.
frame$unit_weight <- N / nrow(frame)
frame$town <- factor(frame$town, levels = names(town_pop))

share_columns <- function(values, population, prefix) {
  q <- population / sum(population)
  answered <- values != "refused"
  levels <- names(population)
  for (l in levels[-length(levels)]) {
    frame[[paste0(prefix, make.names(l))]] <<- as.numeric(values == l) - q[[l]] * as.numeric(answered)
  }
  paste0(prefix, make.names(levels[-length(levels)]))
}
z_names <- c(share_columns(frame$sex, sex_pop, "zsex_"), share_columns(frame$age_group, age_pop, "zage_"))

design0 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~unit_weight, data = frame, nest = TRUE)
formula <- as.formula(paste("~ town +", paste(z_names, collapse = " + ")))
population <- c(`(Intercept)` = N, setNames(town_pop[-1], paste0("town", names(town_pop)[-1])),
                setNames(rep(0, length(z_names)), z_names))
calibrated <- calibrate(design0, formula, population = population, calfun = "raking", epsilon = 1e-11, maxit = 200)
w <- weights(calibrated)

# Route 2: the iterative proportional fitting of scoring.weighting, written out.
ipf <- function() {
  v <- frame$unit_weight
  for (iteration in 1:1000) {
    before <- v
    t <- tapply(v, frame$town, sum)
    v <- v * (town_pop[as.character(frame$town)] / t[as.character(frame$town)])
    for (m in list(list(x = frame$sex, p = sex_pop), list(x = frame$age_group, p = age_pop))) {
      q <- m$p / sum(m$p)
      answered <- m$x != "refused"
      level_totals <- tapply(v[answered], m$x[answered], sum)[names(q)]
      factors <- q * sum(level_totals) / level_totals
      mean_adjustment <- exp(sum(q * log(factors)))
      refusers <- sum(v[!answered])
      scale <- N / (sum(level_totals) + refusers * mean_adjustment)
      v <- ifelse(answered, v * factors[m$x] * scale, v * mean_adjustment * scale)
    }
    if (max(abs(v / before - 1)) < 1e-14) break
  }
  v
}
same(w, ipf(), "calibrate vs iterative proportional fitting", tolerance = 1e-9)
same(sum(w), N, "total")
for (l in names(sex_pop)) {
  answered <- frame$sex != "refused"
  same(sum(w[frame$sex == l]) / sum(w[answered]), sex_pop[[l]] / sum(sex_pop), paste("share of", l))
}
write.csv(data.frame(response_id = frame$response_id, weight = sprintf("%.17g", w)),
          file.path(here, "refused_weights.csv"), row.names = FALSE, quote = FALSE)
put("weights_effective_n", sum(w)^2 / sum(w^2))
put("refused_sex_weight", sum(w[frame$sex == "refused"]))

for (d in domains) {
  r <- svyratio(as.formula(paste0("~num_", d)), as.formula(paste0("~den_", d)), calibrated)
  put(paste0("index_", d), coef(r)); put(paste0("se_", d), SE(r))
}
a <- rep(1 / length(domains), length(domains))
totals_formula <- as.formula(paste("~", paste(c(paste0("num_", domains), paste0("den_", domains)), collapse = " + ")))
expression <- parse(text = paste(sprintf("%.17g * num_%s / den_%s", a, domains, domains), collapse = " + "))[[1]]
overall <- svycontrast(svytotal(totals_formula, calibrated), expression)
put("overall", coef(overall)); put("overall_se", SE(overall))
# Treating the refusers as a level with a known count (their weighted share) would hide
# the uncertainty of that share: its SE is smaller.  Written for the docs.
as_level <- rake(design0, list(~town, ~sex, ~age_group), list(
  data.frame(town = names(town_pop), Freq = town_pop),
  data.frame(sex = c(names(sex_pop), "refused"), Freq = c(sex_pop * (1 - sum(w[frame$sex == "refused"]) / N),
                                                           sum(w[frame$sex == "refused"]))),
  data.frame(age_group = c(names(age_pop), "refused"), Freq = c(age_pop * (1 - sum(w[frame$age_group == "refused"]) / N),
                                                                 sum(w[frame$age_group == "refused"])))),
  control = list(maxit = 1000, epsilon = 1e-12))
same(weights(as_level), w, "the same weights as a fixed refused level", tolerance = 1e-7)
put("overall_se_refused_as_fixed_level", SE(svycontrast(svytotal(totals_formula, as_level), expression)))

write.csv(data.frame(statistic = names(out), value = sprintf("%.17g", unlist(out))),
          file.path(here, "refused_reference.csv"), row.names = FALSE, quote = FALSE)
cat("wrote refused_reference.csv and refused_weights.csv:", length(out), "values\n")
