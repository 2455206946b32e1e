# Results by plan task and lead unit (issue 16), in R.
#
# Run from the repository root:   Rscript tests/scoring/r/accountability_reference.R
# Reads  accountability_responses.csv, accountability_margins.csv (make_accountability_inputs.py)
# Writes accountability_reference.csv   statistic,value (full precision)
#
# The design of what Manyi collects: PSU = collection point, strata = the point's town, rows
# without a point one stratum per channel with each respondent its own PSU, lonely PSU
# "adjust", raked to residence town, sex and age group.  An item's index is its mean score
# over the residents who answered it (svymean on the subset); a lead unit's composite is the
# equal-weight mean of its items' indices, i.e. a nonlinear contrast of totals
# (svycontrast on svytotal of every item's score total and answer count), whose df is that of
# the residents who answered at least one of its items.  The two composites' covariance is
# the vcov of the joint contrast.
suppressPackageStartupMessages(library(survey))
here <- "tests/scoring/r"
options(survey.lonely.psu = "adjust", warn = 1)
K <- 5
out <- list()
put <- function(name, value) out[[name]] <<- unname(as.numeric(value))[1]

responses <- read.csv(file.path(here, "accountability_responses.csv"), stringsAsFactors = FALSE,
                      na.strings = "", check.names = FALSE, colClasses = c(response_id = "character"))
margins <- read.csv(file.path(here, "accountability_margins.csv"), stringsAsFactors = FALSE)
responses$point[is.na(responses$point)] <- ""
responses$point_town[is.na(responses$point_town)] <- ""
responses$stratum <- ifelse(responses$point == "", paste0("channel:", responses$channel), responses$point_town)
responses$psu <- ifelse(responses$point == "", responses$response_id, responses$point)

units <- list(
  health_bureau = c("healthcare.appointment", "healthcare.visit_process", "healthcare.family_doctor",
                    "healthcare.staff_attitude", "healthcare.complaints", "healthcare.treatment_quality"),
  housing_construction_bureau = c("education.school_places", "education.fair_admission", "education.teaching_quality",
                                  "utilities.tap_water", "utilities.gas_supply", "environment.air_quality",
                                  "environment.dust_control", "environment.noise", "environment.noise_complaints",
                                  "environment.urban_water", "environment.rural_water")
)
items <- unique(unlist(units))
alias <- setNames(paste0("i", seq_along(items)), items)
for (code in items) {
  s <- (responses[[code]] - 1) / (K - 1) * 100
  responses[[paste0("num_", alias[[code]])]] <- ifelse(is.na(s), 0, s)
  responses[[paste0("den_", alias[[code]])]] <- as.numeric(!is.na(s))
  responses[[paste0("s_", alias[[code]])]] <- s
}
for (unit in names(units)) {
  dens <- as.matrix(responses[, paste0("den_", alias[units[[unit]]])])
  responses[[paste0("any_", unit)]] <- as.numeric(rowSums(dens) > 0)
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

for (code in items) {
  a <- alias[[code]]
  sub <- subset(raked, !is.na(raked$variables[[paste0("s_", a)]]))
  m <- svymean(as.formula(paste0("~s_", a)), sub, na.rm = TRUE)
  put(paste0("item_", code, "_index"), coef(m))
  put(paste0("item_", code, "_se"), SE(m))
  put(paste0("item_", code, "_df"), degf(sub))
  put(paste0("item_", code, "_n"), sum(!is.na(responses[[paste0("s_", a)]])))
}

totals <- svytotal(as.formula(paste("~", paste(c(paste0("num_", alias), paste0("den_", alias)), collapse = " + "))),
                   raked)
expressions <- lapply(units, function(codes) {
  terms <- sprintf("num_%s / den_%s", alias[codes], alias[codes])
  parse(text = sprintf("(%s) / %d", paste(terms, collapse = " + "), length(codes)))[[1]]
})
composite <- svycontrast(totals, expressions)
covariance <- vcov(composite)
for (unit in names(units)) {
  sub <- subset(raked, raked$variables[[paste0("any_", unit)]] == 1)
  put(paste0("unit_", unit, "_index"), coef(composite)[[unit]])
  put(paste0("unit_", unit, "_se"), sqrt(covariance[unit, unit]))
  put(paste0("unit_", unit, "_df"), degf(sub))
  put(paste0("unit_", unit, "_n"), sum(responses[[paste0("any_", unit)]]))
}
put("unit_covariance", covariance["health_bureau", "housing_construction_bureau"])

write.csv(data.frame(statistic = names(out), value = sprintf("%.17g", unlist(out))),
          file.path(here, "accountability_reference.csv"), row.names = FALSE, quote = FALSE)
