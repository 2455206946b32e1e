# Reference values from R's survey package for the api designs (statistics.md table).
#
# Run from the repository root:  Rscript tests/scoring/r/api_reference.R
# Writes, next to this script:
#   apistrat.csv, apiclus1.csv   the api data shipped with the survey package
#   api_reference.csv            statistic,value at full precision
# The test suite reads these files; it never needs R.
suppressPackageStartupMessages(library(survey))
here <- "tests/scoring/r"
data(api)
keep <- c("cds", "stype", "dnum", "snum", "sch.wide", "api00", "api99", "api.stu", "enroll", "pw", "fpc")
write.csv(apistrat[, keep], file.path(here, "apistrat.csv"), row.names = FALSE)
write.csv(apiclus1[, keep], file.path(here, "apiclus1.csv"), row.names = FALSE)

out <- list()
put <- function(name, value) out[[name]] <<- unname(as.numeric(value))
se <- function(x) sqrt(diag(as.matrix(vcov(x))))

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
m <- svymean(~api00, dstrat); put("strat_mean_api00", coef(m)); put("strat_mean_api00_se", SE(m))
t <- svytotal(~enroll, dstrat, na.rm = TRUE); put("strat_total_enroll", coef(t)); put("strat_total_enroll_se", SE(t))

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
m <- svymean(~api00, dclus1, deff = TRUE)
put("clus1_mean_api00", coef(m)); put("clus1_mean_api00_se", SE(m)); put("clus1_mean_api00_deff", deff(m))
r <- svyratio(~api.stu, ~enroll, dclus1); put("clus1_ratio", coef(r)); put("clus1_ratio_se", SE(r))
t <- svytotal(~enroll, dclus1); put("clus1_total_enroll", coef(t)); put("clus1_total_enroll_se", SE(t))

# Domain (subpopulation) means on the full design.
d <- svymean(~api00, subset(dclus1, stype == "H"), deff = TRUE)
put("clus1_mean_api00_H", coef(d)); put("clus1_mean_api00_H_se", SE(d)); put("clus1_mean_api00_H_deff", deff(d))
b <- svyby(~api00, ~stype, dclus1, svymean)
for (k in 1:3) { s <- c("E", "H", "M")[k]; put(paste0("clus1_by_stype_", s), coef(b)[k]); put(paste0("clus1_by_stype_", s, "_se"), SE(b)[k]) }

# Proportions: logit (svyciprop default), Korn-Graubard ("beta"), and the mean's CI.
for (method in c("logit", "beta", "mean")) {
  p <- svyciprop(~I(sch.wide == "Yes"), dclus1, method = method)
  put(paste0("clus1_prop_", method), coef(p))
  put(paste0("clus1_prop_", method, "_se"), sqrt(attr(p, "var")))
  put(paste0("clus1_prop_", method, "_low"), attr(p, "ci")[1])
  put(paste0("clus1_prop_", method, "_high"), attr(p, "ci")[2])
}

# Replicates: JK1 (15 replicates), default mse = FALSE and mse = TRUE.
rclus1 <- as.svrepdesign(dclus1)
m <- svymean(~api00, rclus1); put("jk1_mean_api00", coef(m)); put("jk1_mean_api00_se", SE(m))
rclus1_mse <- as.svrepdesign(dclus1, mse = TRUE)
m <- svymean(~api00, rclus1_mse); put("jk1_mse_mean_api00_se", SE(m))

# Post-stratification and raking.
pop.types <- data.frame(stype = c("E", "H", "M"), Freq = c(4421, 755, 1018))
pop.schwide <- data.frame(sch.wide = c("No", "Yes"), Freq = c(1072, 5122))
ps <- postStratify(dclus1, ~stype, pop.types)
m <- svymean(~api00, ps); put("ps_mean_api00", coef(m)); put("ps_mean_api00_se", SE(m))
t <- svytotal(~enroll, ps); put("ps_total_enroll", coef(t)); put("ps_total_enroll_se", SE(t))
rk <- rake(dclus1, list(~stype, ~sch.wide), list(pop.types, pop.schwide),
           control = list(maxit = 100, epsilon = 1e-12))
m <- svymean(~api00, rk); put("rake_mean_api00", coef(m)); put("rake_mean_api00_se", SE(m))
r <- svyratio(~api.stu, ~enroll, rk); put("rake_ratio", coef(r)); put("rake_ratio_se", SE(r))
w <- weights(rk); for (i in seq_along(w)) put(sprintf("rake_weight_%03d", i), w[i])
cal <- calibrate(dclus1, ~stype + sch.wide, population = c(`(Intercept)` = 6194, stypeH = 755, stypeM = 1018, sch.wideYes = 5122),
                 calfun = "raking", epsilon = 1e-12, maxit = 200)
m <- svymean(~api00, cal); put("calibrate_mean_api00", coef(m)); put("calibrate_mean_api00_se", SE(m))
# Raked JK1 replicates (each replicate re-raked).
rrk <- rake(as.svrepdesign(dclus1, mse = TRUE), list(~stype, ~sch.wide), list(pop.types, pop.schwide),
            control = list(maxit = 100, epsilon = 1e-12))
m <- svymean(~api00, rrk); put("jk1_rake_mean_api00", coef(m)); put("jk1_rake_mean_api00_se", SE(m))

# Lonely PSU: one district alone in its stratum, survey.lonely.psu = "adjust".
lonely <- apiclus1
lonely$grp <- ifelse(lonely$dnum == sort(unique(lonely$dnum))[1], "solo", "rest")
write.csv(lonely[, c(keep, "grp")], file.path(here, "apiclus1_lonely.csv"), row.names = FALSE)
options(survey.lonely.psu = "adjust")
dl <- svydesign(id = ~dnum, strata = ~grp, weights = ~pw, data = lonely, nest = TRUE)
m <- svymean(~api00, dl); put("lonely_mean_api00", coef(m)); put("lonely_mean_api00_se", SE(m))
t <- svytotal(~enroll, dl); put("lonely_total_enroll", coef(t)); put("lonely_total_enroll_se", SE(t))
options(survey.lonely.psu = "fail")

# Kalton & Flores-Cervantes (2003): raking factors of a 4 x 3 table.
sample <- c(20, 50, 100, 30, 40, 140, 50, 100, 40, 310, 50, 70)
population <- c(80, 60, 170, 55, 40, 150, 60, 165, 55, 340, 200, 125)
cells <- expand.grid(a = 1:4, b = 1:3)
people <- cells[rep(1:12, sample), ]
kd <- svydesign(id = ~1, weights = ~rep(1, nrow(people)), data = people)
pop.a <- data.frame(a = 1:4, Freq = as.vector(tapply(population, cells$a, sum)))
pop.b <- data.frame(b = 1:3, Freq = as.vector(tapply(population, cells$b, sum)))
kr <- rake(kd, list(~a, ~b), list(pop.a, pop.b), control = list(maxit = 100, epsilon = 1e-12))
factors <- tapply(weights(kr), list(people$a, people$b), mean)
for (a in 1:4) for (b in 1:3) put(sprintf("kalton_%d_%d", a, b), factors[a, b])

values <- unlist(out)
write.csv(data.frame(statistic = names(values), value = sprintf("%.17g", values)),
          file.path(here, "api_reference.csv"), row.names = FALSE, quote = FALSE)
cat("wrote", length(values), "reference values\n")
