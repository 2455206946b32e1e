"""Render the figures of ``benchmarks/run_all.py`` as ``benchmarks/RESULTS.md``.

Every goal of issue 7 gets a line with its figure and whether it is met; every goal
missed gets a paragraph saying what limits it, worked out from the figures of the same
run (server CPU per request, Little's law, who else used the cores).
"""

from __future__ import annotations

from typing import Any

DATABASE_NAMES = {"sqlite": "SQLite (WAL)", "postgresql": "PostgreSQL 15"}


def _mark(met: bool | None) -> str:
    return {True: "met", False: "**missed**", None: "not measured"}[met]


def _get(data: Any, *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _ms(value: Any) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _case(line: str) -> str:
    """The parameter of a pytest test id line (``test[database-case] - reason`` → ``case``)."""
    inside = line.split("[", 1)[-1].split("]", 1)[0]
    return inside.split("-", 1)[-1]


def _server_ms_per_request(phase: dict[str, Any]) -> float | None:
    requests = phase.get("requests") or 0
    cpu = _get(phase, "cpu", "cpu_s", "server")
    return 1000 * cpu / requests if requests and cpu is not None else None


class Report:
    """Builds the Markdown text section by section."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.steps: dict[str, Any] = data.get("steps", {})
        self.lines: list[str] = []
        self.goals: list[tuple[str, str, str, bool | None]] = []  # goal, figure, target, met
        self.misses: list[str] = []

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def command(self, name: str) -> None:
        command = self.data.get("commands", {}).get(name)
        seconds = self.data.get("seconds", {}).get(name)
        if command:
            self.add(
                "",
                f"Command: `{command}` ({seconds:.0f} s in this run)."
                if seconds is not None
                else f"Command: `{command}`.",
            )

    # ------------------------------------------------------------------ sections

    def load(self) -> None:
        load = self.steps.get("load")
        if not load:
            return
        options = load.get("options", {})
        front_end = _get(load, "sqlite", "server", "front_end") or _get(load, "postgresql", "server", "front_end")
        self.add(
            f"## Load: {options.get('residents', 100)} residents, whole surveys, "
            + ("through the production front end (nginx → gunicorn)" if front_end else "gunicorn"),
            "",
        )
        if front_end:
            self.add(
                "The front end is the one `deploy/` ships and `tests/deploy/test_frontend.py` starts: nginx with "
                "`deploy/nginx/manyi.conf` (request and response buffering, body and header timeouts) in front of "
                "gunicorn with `deploy/gunicorn.conf.py` on a unix socket, `MANYI_TRUSTED_PROXIES=1`, "
                f"{_get(load, 'sqlite', 'server', 'workers', default='?')} sync workers. Every request below went "
                "through nginx.",
                "",
            )
        self.add(
            f"One server per database (`{_get(load, 'sqlite', 'server', 'command', default='gunicorn survey.wsgi:app')}`), "
            "rate-limit state in Redis (the shipped limits: 120 requests per minute and 1,500 per hour per point and "
            "address; every simulated phone has its own loopback address 127.x.y.z, as phones in the field do). "
            f"Phases: bare endpoint (`/healthz`, {options.get('bare_duration', '?'):.0f} s, "
            f"{options.get('residents', 100)} connections back to back); **saturated** "
            f"({options.get('residents', 100)} residents walking whole surveys back to back, no pause, "
            f"{options.get('duration', 60):.0f} s); **paced** ({options.get('residents', 100)} residents arriving at random "
            f"moments over the first {options.get('think', (2, 6))[1]:.0f} s and pausing "
            f"{options.get('think', (2, 6))[0]:.0f}–{options.get('think', (2, 6))[1]:.0f} s on each page before sending it — "
            f"a person reading six questions needs 10–30 s — for {options.get('paced_duration', 30):.0f} s; the offered "
            "load is given below as a share of the saturated phase's throughput)"
            + (
                f"; **slow clients** (the paced phase again while {options.get('slow_clients')} clients each trickle a "
                "60 KB form one byte a second from their own addresses — the security probe's attack, which held "
                "every sync worker of a bare gunicorn)"
                if options.get("slow_clients")
                else ""
            )
            + ". A survey is landing → start → "
            "services → 1–3 domain pages → demographics → final → thanks: every GET parses the form (CSRF token, "
            "one-time key, questions) and every POST follows its 303.",
            "",
            "| database | phase | requests/s | surveys/s | p50 ms | p95 ms | p99 ms | max ms | errors | server CPU ms/request |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        )
        for kind in ("sqlite", "postgresql"):
            figures = load.get(kind)
            if not figures:
                continue
            if "error" in figures:
                self.add(f"| {DATABASE_NAMES[kind]} | failed: {figures['error']} | | | | | | | | |")
                continue
            for phase_name, label in (
                ("bare", "bare `/healthz`"),
                ("saturated", "residents, saturated"),
                ("paced", "residents, paced"),
                ("slow_clients", "residents, paced, slow clients trickling"),
            ):
                phase = figures.get(phase_name)
                if not phase:
                    continue
                latency = phase["latency"]
                errors = phase["errors"] + phase.get("flow_errors", 0)
                self.add(
                    f"| {DATABASE_NAMES[kind]} | {label} | {phase['requests_per_s']:,.1f} | "
                    f"{phase.get('submissions_per_s', '—')} | {_ms(latency['p50_ms'])} | {_ms(latency['p95_ms'])} | "
                    f"{_ms(latency['p99_ms'])} | {_ms(latency['max_ms'])} | {errors} | "
                    f"{_ms(_server_ms_per_request(phase))} |"
                )
        for kind in ("sqlite", "postgresql"):
            saturated, paced = _get(load, kind, "saturated"), _get(load, kind, "paced")
            if saturated and paced and saturated.get("requests_per_s"):
                self.add(
                    "",
                    f"{DATABASE_NAMES[kind]}: the paced residents offered {paced['requests_per_s']:,.0f} "
                    f"requests/s, {paced['requests_per_s'] / saturated['requests_per_s']:.0%} of the saturated "
                    "throughput.",
                )
        self.add(
            "",
            "Who used the two cores in each phase (share of the machine's capacity over the phase; "
            "*client* is the load generator, *other* is everything else on this shared machine):",
            "",
            "| database | phase | client | server (gunicorn) | nginx | Redis | PostgreSQL | other | idle |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|",
        )
        for kind in ("sqlite", "postgresql"):
            figures = load.get(kind) or {}
            for phase_name in ("bare", "saturated", "paced", "slow_clients"):
                share = _get(figures, phase_name, "cpu", "share_of_capacity")
                if not share:
                    continue
                idle = max(0.0, 1 - share.get("machine", 0))
                nginx = f"{share['nginx']:.0%}" if "nginx" in share else "—"
                self.add(
                    f"| {DATABASE_NAMES[kind]} | {phase_name} | {share.get('client', 0):.0%} | "
                    f"{share.get('server', 0):.0%} | {nginx} | {share.get('redis', 0):.0%} | "
                    f"{share.get('postgresql', 0):.0%} | {share.get('other', 0):.0%} | {idle:.0%} |"
                )
        for kind in ("sqlite", "postgresql"):
            slow = _get(load, kind, "slow_clients", "slow_clients")
            if slow:
                self.add(
                    "",
                    f"{DATABASE_NAMES[kind]}, slow clients: {slow['clients']} connections trickling one byte every "
                    f"{slow['every_s']:.0f} s, {slow['still_connected_at_end']} still open (held by nginx) when the "
                    f"phase ended, each having sent at least {slow['bytes_sent_min']} of their {slow['body_bytes']:,} "
                    "bytes (nginx passes a body on only once it is complete).",
                )
        self.add(
            "",
            "Stored exactly once, checked by keys (each acknowledged survey's marker, its final page's "
            "one-time key and the response id its start key turns into; and exactly one response per survey "
            "that tapped start):",
            "",
        )
        for kind in ("sqlite", "postgresql"):
            verification = _get(load, kind, "verification")
            if verification:
                self.add(
                    f"- {DATABASE_NAMES[kind]}: {verification['stored_exactly_once']:,} of "
                    f"{verification['acknowledged']:,} acknowledged surveys stored exactly once; "
                    f"{verification['responses_created']:,} responses created for {verification['responses_expected']:,} "
                    f"surveys started; missing {verification['missing']}, duplicated {verification['duplicated']}, "
                    f"half-written visible as submitted {verification['incomplete_submitted']}"
                    + (f"; `integrity_check` {verification['integrity_check']}" if kind == "sqlite" else "")
                    + "."
                )
        self.command("load")
        for kind in ("sqlite", "postgresql"):
            figures = load.get(kind)
            if not figures or "goals" not in figures:
                continue
            goals = figures["goals"]
            name = DATABASE_NAMES[kind]
            self.goals.append(
                (
                    f"Load {name}: residents' requests/s ÷ bare endpoint's",
                    str(goals["ratio_to_bare"]["value"]),
                    "≥ 0.5",
                    goals["ratio_to_bare"]["met"],
                )
            )
            residents = _get(figures, "saturated", "residents", default=100)
            self.goals.append(
                (
                    f"Load {name}: p99 at {residents} residents, saturated",
                    f"{goals['p99_ms_saturated']['value']:,.0f} ms",
                    "< 150 ms",
                    goals["p99_ms_saturated"]["met"],
                )
            )
            if "p99_ms_paced" in goals:
                self.goals.append(
                    (
                        f"Load {name}: p99 at {residents} residents, paced",
                        f"{goals['p99_ms_paced']['value']:,.0f} ms",
                        "< 150 ms",
                        goals["p99_ms_paced"]["met"],
                    )
                )
            if "p99_ms_slow_clients" in goals:
                self.goals.append(
                    (
                        f"Load {name}: p99 at {residents} residents, paced, while slow clients trickle",
                        f"{goals['p99_ms_slow_clients']['value']:,.0f} ms",
                        "< 150 ms",
                        goals["p99_ms_slow_clients"]["met"],
                    )
                )
            if "surveys_per_s" in goals:
                where = "through nginx" if _get(figures, "server", "front_end") else "gunicorn alone"
                self.goals.append(
                    (
                        f"Load {name}: whole surveys per second, saturated, {where}",
                        f"{goals['surveys_per_s']['value']:,.1f}",
                        "≥ 20",
                        goals["surveys_per_s"]["met"],
                    )
                )
            self.goals.append((f"Load {name}: errors", str(goals["errors"]["value"]), "0", goals["errors"]["met"]))
            for key, label in (("lost", "lost"), ("duplicated", "duplicated")):
                if key in goals:
                    self.goals.append(
                        (f"Load {name}: surveys {label}", str(goals[key]["value"]), "0", goals[key]["met"])
                    )
            self.goals.append(
                (
                    f"Load {name}: acknowledged surveys stored exactly once (by keys)",
                    goals["stored_exactly_once"]["value"],
                    "all",
                    goals["stored_exactly_once"]["met"],
                )
            )
            self._explain_load(kind, figures)

    def _explain_load(self, kind: str, figures: dict[str, Any]) -> None:
        goals, name = figures["goals"], DATABASE_NAMES[kind]
        bare, saturated, paced = figures["bare"], figures["saturated"], figures.get("paced")
        bare_ms, resident_ms = _server_ms_per_request(bare), _server_ms_per_request(saturated)
        server_share = _get(saturated, "cpu", "share_of_capacity", "server", default=0)
        other_share = _get(saturated, "cpu", "share_of_capacity", "other", default=0)
        if not goals["ratio_to_bare"]["met"] and bare_ms and resident_ms:
            self.misses.append(
                f"**Throughput ratio, {name}: {goals['ratio_to_bare']['value']} (goal ≥ 0.5).** What limits it is the "
                f"server's CPU per request: a resident request costs {resident_ms:.1f} ms of gunicorn CPU, `/healthz` "
                f"{bare_ms:.1f} ms, so even with the cores to itself the server could not serve resident requests at "
                f"more than {bare_ms / resident_ms:.2f} of the bare endpoint's rate. A resident request is a real page: "
                "the point, its wave, the draft, its answers and the page's key read in one statement, a page of 30–90 "
                "radio inputs rendered, a one-time key written, the per-point limit checked in Redis; a POST "
                "validates, claims the key and writes the answers in one transaction (see the profile note below). "
                "The bare endpoint is a JSON dict. In this phase the server had "
                f"{server_share:.0%} of the machine, the load generator {_get(saturated, 'cpu', 'share_of_capacity', 'client', default=0):.0%}"
                f" and other work on the shared machine {other_share:.0%}. The bare figure is itself held down by the "
                f"load generator ({_get(bare, 'cpu', 'share_of_capacity', 'client', default=0):.0%} of the machine in "
                "that phase: parsing replies costs about as much as serving `/healthz`), so with the client on another "
                "machine the ratio would be lower, not higher."
            )
        if not goals["p99_ms_saturated"]["met"]:
            residents = saturated.get("residents", 100)
            rate = saturated["requests_per_s"] or 1
            self.misses.append(
                f"**p99 saturated, {name}: {goals['p99_ms_saturated']['value']:,.0f} ms (goal < 150 ms).** With "
                f"{residents} residents sending back to back, every request waits for the ones ahead of it: by Little's "
                f"law the mean time in the server is residents ÷ throughput = {residents} ÷ {rate:,.0f}/s ≈ "
                f"{1000 * residents / rate:,.0f} ms. A p99 under 150 ms at 100 clients with no pause would need about "
                f"{residents / 0.1:,.0f} requests/s, {residents / 0.1 / rate:.0f}× what this machine serves. The paced "
                "phase measures latency at a load the server can carry."
            )
        if "surveys_per_s" in goals and not goals["surveys_per_s"]["met"] and resident_ms:
            # landing GET, start POST, a GET and a POST per page, the thank-you GET
            requests_per_survey = 3 + 2 * (saturated.get("pages_per_survey") or 0)
            cores = _get(saturated, "cpu", "cores", default=2)
            ceiling = 1000 * cores / (resident_ms * requests_per_survey) if requests_per_survey else 0
            self.misses.append(
                f"**Whole surveys per second, {name}: {goals['surveys_per_s']['value']:,.1f} (goal ≥ 20).** A survey "
                f"took {requests_per_survey:.1f} requests at {resident_ms:.1f} ms of gunicorn CPU each, so "
                f"{cores} cores given wholly to gunicorn would carry at most about {ceiling:,.0f} surveys/s; in this "
                f"phase gunicorn had {server_share:.0%} of the machine, nginx "
                f"{_get(saturated, 'cpu', 'share_of_capacity', 'nginx', default=0):.0%}, the load generator "
                f"{_get(saturated, 'cpu', 'share_of_capacity', 'client', default=0):.0%} and other work "
                f"{other_share:.0%}."
            )
        slow = figures.get("slow_clients")
        if slow and "p99_ms_slow_clients" in goals and not goals["p99_ms_slow_clients"]["met"]:
            self.misses.append(
                f"**p99 while slow clients trickle, {name}: {goals['p99_ms_slow_clients']['value']:,.0f} ms (goal "
                f"< 150 ms; p50 {slow['latency']['p50_ms']:,.0f} ms).** The machine was "
                f"{_get(slow, 'cpu', 'share_of_capacity', 'machine', default=0):.0%} busy, "
                f"{_get(slow, 'cpu', 'share_of_capacity', 'other', default=0):.0%} of it other work; the "
                f"{_get(slow, 'slow_clients', 'clients', default=0)} slow connections cost nginx "
                f"{_get(slow, 'cpu', 'share_of_capacity', 'nginx', default=0):.0%}."
            )
        if paced and "p99_ms_paced" in goals and not goals["p99_ms_paced"]["met"]:
            paced_other = _get(paced, "cpu", "share_of_capacity", "other", default=0)
            busy = _get(paced, "cpu", "share_of_capacity", "machine", default=0)
            if paced_other >= 0.1:
                cause = (
                    f"{paced_other:.0%} of the machine went to other work on this shared machine, so requests "
                    "queued behind CPU they could not get"
                )
            else:
                cause = (
                    "the machine was not short of CPU on average, so the tail is requests that arrive together and "
                    f"wait for one of the {_get(figures, 'server', 'workers', default=4)} sync workers, each busy "
                    f"about {_server_ms_per_request(paced) or 0:.0f} ms per request (GET p99 "
                    f"{paced['latency_get']['p99_ms']:,.0f} ms, POST p99 {paced['latency_post']['p99_ms']:,.0f} ms)"
                )
            self.misses.append(
                f"**p99 paced, {name}: {goals['p99_ms_paced']['value']:,.0f} ms (goal < 150 ms; p50 "
                f"{paced['latency']['p50_ms']:,.0f} ms, p95 {paced['latency']['p95_ms']:,.0f} ms).** At "
                f"{paced['requests_per_s']:,.0f} requests/s the server used about "
                f"{(_server_ms_per_request(paced) or 0) * paced['requests_per_s'] / 1000:.2f} cores and the machine was "
                f"{busy:.0%} busy; {cause}."
            )
        if not goals["errors"]["met"]:
            examples = (
                bare.get("error_examples", [])
                + saturated.get("error_examples", [])
                + saturated.get("flow_error_examples", [])
                + (slow or {}).get("error_examples", [])
                + (slow or {}).get("flow_error_examples", [])
            )
            self.misses.append(f"**Errors, {name}: {goals['errors']['value']}.** Examples: {examples[:5]}.")
        if not goals["stored_exactly_once"]["met"]:
            self.misses.append(f"**Stored exactly once, {name}:** {figures.get('verification_problems')}.")

    def crash(self) -> None:
        crash = self.steps.get("crash")
        if not crash:
            return
        self.add(
            "",
            "## Crash: `kill -9` of master and workers mid-load, restart, resume",
            "",
            "Residents walk surveys back to back; the whole gunicorn process group gets SIGKILL at once; the "
            "server restarts on the same port; every interrupted resident carries on as a phone would (the same "
            "GET, or the same POST with the same one-time key). Then the database is checked by keys.",
            "",
            "| database | killed after | processes killed | requests cut | acknowledged before kill | interrupted | "
            "acknowledged after resume | stored exactly once | half-written visible | `integrity_check` |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        )
        for kind in ("sqlite", "postgresql"):
            result = crash.get(kind)
            if not result:
                continue
            if "error" in result:
                self.add(f"| {DATABASE_NAMES[kind]} | failed: {result['error']} |||||||||")
                self.goals.append((f"Crash {DATABASE_NAMES[kind]}", "failed to run", "nothing lost", None))
                continue
            verification = result["verification"]
            self.add(
                f"| {DATABASE_NAMES[kind]} | {result['killed_after_s']} s | {result['processes_killed']} | "
                f"{result['requests_cut_by_kill']} | {result['surveys_acknowledged_before_kill']} | "
                f"{result['surveys_interrupted']} | {result['surveys_acknowledged_after_resume']} | "
                f"{verification['stored_exactly_once']}/{verification['acknowledged']} | "
                f"{verification['incomplete_submitted']} | {verification['integrity_check']} |"
            )
            self.goals.append(
                (
                    f"Crash {DATABASE_NAMES[kind]}: every acknowledged survey present once, none half-written"
                    + (", integrity_check ok" if kind == "sqlite" else ""),
                    f"{verification['stored_exactly_once']}/{verification['acknowledged']}, "
                    f"{verification['incomplete_submitted']} half-written"
                    + (f", {verification['integrity_check']}" if kind == "sqlite" else ""),
                    "all, 0" + (", ok" if kind == "sqlite" else ""),
                    bool(result.get("ok")),
                )
            )
            if not result.get("ok"):
                self.misses.append(
                    f"**Crash, {DATABASE_NAMES[kind]}:** {result.get('verification_problems')} "
                    f"{result.get('unfinished_errors')}"
                )
        self.command("crash")

    def retry_storm(self) -> None:
        storm = self.steps.get("retry_storm")
        if not storm:
            return
        self.add(
            "",
            "## Retry storm: 20% of POSTs sent twice with the same key",
            "",
            "Half of the repeats follow the first reply with the cookies from before it (a browser retrying when "
            "the reply was lost), half go at the same moment on a second connection (a double tap).",
            "",
            "| database | POSTs | repeats after reply | repeats at once | share repeated | repeats leading elsewhere | "
            "surveys | duplicates | errors | p99 ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        )
        for kind in ("sqlite", "postgresql"):
            result = storm.get(kind)
            if not result:
                continue
            if "error" in result:
                self.add(f"| {DATABASE_NAMES[kind]} | failed: {result['error']} |||||||||")
                continue
            self.add(
                f"| {DATABASE_NAMES[kind]} | {result['posts']:,} | {result['repeats_after_reply']:,} | "
                f"{result['repeats_at_same_time']:,} | {result['repeat_share']:.1%} | {result['repeats_leading_elsewhere']} | "
                f"{result['surveys_acknowledged']:,} | {result['duplicates']} | {result['errors']} | "
                f"{_ms(result['latency']['p99_ms'])} |"
            )
            self.goals.append(
                (
                    f"Retry storm {DATABASE_NAMES[kind]}: duplicates",
                    str(result["duplicates"]),
                    "0",
                    bool(result.get("ok")),
                )
            )
            if not result.get("ok"):
                self.misses.append(
                    f"**Retry storm, {DATABASE_NAMES[kind]}:** {result.get('verification_problems')} "
                    f"{result.get('error_examples')}"
                )
        self.command("retry_storm")

    def bot_flood(self) -> None:
        flood = self.steps.get("bot_flood")
        if not flood:
            return
        redis_run, memory_run, screen = flood.get("redis", {}), flood.get("memory", {}), flood.get("screen", {})
        self.add(
            "",
            "## Shared rate-limit state and bot flood",
            "",
            f"Settings: {flood.get('settings')}. One bot (one address, {redis_run.get('bot_connections', '?')} "
            "parallel connections, one point: one connection keeps its cookies between surveys, the other starts "
            "each survey without cookies) walks surveys as fast as the server answers, while 10 honest residents "
            "answer at other points from their own addresses.",
            "",
        )
        if "error" in redis_run:
            self.add(f"Redis run failed: {redis_run['error']}")
        else:
            self.add(
                "| storage | workers | flood s | bot requests | got through | 429 | bot surveys submitted | "
                "honest surveys | honest errors | limit held |",
                "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            )
            for run in (redis_run, memory_run):
                if run and "error" not in run:
                    self.add(
                        f"| {run['storage']} | {run['workers']} | {run['flood_s']} | {run['bot_requests']:,} | "
                        f"{run['bot_requests_through']} | {run['bot_requests_429']:,} | {run['bot_surveys_submitted']} | "
                        f"{run['honest_surveys_submitted']} | {run['honest_errors']} | {run['limit_held']} |"
                    )
            self.add(
                "",
                f"With Redis the {redis_run.get('workers')} workers share one counter: "
                f"{redis_run.get('bot_requests_through')} of the bot's requests got through (limit 120 per minute). "
                + (
                    f"With `memory://` each worker counts alone: {memory_run.get('bot_requests_through')} got through "
                    f"in {memory_run.get('flood_s')} s."
                    if memory_run and "error" not in memory_run
                    else ""
                ),
            )
            self.goals.append(
                (
                    "Shared limit (Redis): bot requests through per minute, 4 workers",
                    str(redis_run.get("bot_requests_through")),
                    "≤ 120",
                    redis_run.get("limit_held"),
                )
            )
        if screen and "error" not in screen:
            submitted = screen.get("bot_surveys_screened", 0)
            caught = screen.get("flagged_or_excluded", 0)
            self.add(
                "",
                f"The bot's {submitted} submitted surveys, exported through the app's adapter and put through "
                f"the scoring screen (`scoring.screening.screen_responses`): flags at collection "
                f"{screen.get('flags_at_collection')}; screen verdict {screen.get('screen_verdict')} (median "
                f"duration of the kept responses {screen.get('median_duration_s_of_kept')} s).",
            )
            flagged = sum(
                count for flag, count in (screen.get("flags_at_collection") or {}).items() if flag != "(none)"
            )
            self.goals.append(
                (
                    "Bot flood: surveys that got through flagged or screened out",
                    f"{caught}/{submitted} ({flagged} flagged at collection)",
                    "all",
                    caught == submitted if submitted else None,
                )
            )
            if flagged < submitted:
                self.misses.append(
                    f"**Bot flood, flags at collection: {flagged} of {submitted} bot surveys flagged.** The cookie-keeping "
                    "connection's repeats are flagged `duplicate_browser`; a bot that drops its cookies is flagged "
                    "`ip_burst` only after `RESPOND_IP_BURST_PER_HOUR` (20) completions per point and address in an "
                    "hour, and the rate limit (120 requests per minute) lets a bot finish only about 10 surveys a "
                    "minute, so a short flood stays under the threshold. Those surveys were caught here by the scoring "
                    f"screen ({screen.get('screen_verdict')}), not by a flag. (The screen excludes `partial`, "
                    "`duplicate_browser` and `ip_burst` responses, speeders and straight-liners: a flagged "
                    "response is kept out of the scores whichever way it was caught.)"
                )
        self.command("bot_flood")

    def fuzz(self) -> None:
        fuzz = self.steps.get("fuzz")
        if not fuzz:
            return
        hypothesis = fuzz.get("hypothesis", {})
        oversized = fuzz.get("oversized_on_gunicorn", {})
        self.add("", "## Hostile input", "")
        if "error" in hypothesis:
            self.add(f"The hypothesis run failed to start: {hypothesis['error']}")
        else:
            self.add(
                f"hypothesis, {hypothesis.get('examples', 0):,} examples on SQLite and PostgreSQL in "
                f"{hypothesis.get('seconds', 0):.0f} s (seed {hypothesis.get('seed')}): {hypothesis.get('summary')}.",
                "",
                "| test (database) | examples |",
                "|---|---:|",
            )
            for name, count in hypothesis.get("per_test", {}).items():
                self.add(f"| `{name}` | {count:,} |")
            self.add("", f"Reply statuses over all examples: {hypothesis.get('statuses')}.")
            if hypothesis.get("failures"):
                self.add(
                    "",
                    "Failures:",
                    "",
                    *[f"- `{line}`" for line in hypothesis["failures"]],
                    *[f"- `{line}`" for line in hypothesis.get("failure_details", [])],
                )
            if hypothesis.get("known_failures"):
                self.add(
                    "",
                    "Known failures (fixed cases in the test file, marked as expected to fail until fixed):",
                    "",
                    *[f"- `{line}`" for line in hypothesis["known_failures"]],
                )
            self.add("", f"Replay: `{hypothesis.get('command')}`.")
        if oversized and "error" not in oversized:
            statuses = sorted({(entry["framing"], entry["status"]) for entry in oversized.get("requests", [])})
            self.add(
                "",
                f"Oversized bodies on a real gunicorn ({len(oversized.get('requests', []))} requests to the "
                f"start, question-page and sign-in routes, 64 KB + 1 to 20 MB, with a Content-Length and chunked, "
                f"and a valid start form followed by 100 KB sent chunked): (framing, status) = {statuses}.",
            )
        examples = hypothesis.get("examples", 0)
        failed_tests = len(hypothesis.get("failures", []))
        known = len(hypothesis.get("known_failures", []))
        self.goals.append(
            (
                "Hostile input: hypothesis examples run (both databases)",
                f"{examples:,}",
                "≥ 5,000",
                examples >= 5000 if "error" not in hypothesis else None,
            )
        )
        self.goals.append(
            (
                "Hostile input: no 500, nothing stored from invalid input, tampered tokens and cookies refused",
                "all passed"
                if hypothesis.get("ok")
                else f"{failed_tests} fuzz tests failed, {known} known cases fail (500 on PostgreSQL)",
                "all pass",
                bool(hypothesis.get("ok")) if "error" not in hypothesis else None,
            )
        )
        self.goals.append(
            (
                "Oversized bodies on gunicorn → 413",
                "all 413" if oversized.get("ok") else "not all 413",
                "413",
                oversized.get("ok"),
            )
        )
        if not hypothesis.get("ok"):
            problems = hypothesis.get("failures", [])[:5] + hypothesis.get("failure_details", [])[:2]
            known = hypothesis.get("known_failures", [])
            self.misses.append(
                "**Hostile input: not every request answered below 500.** "
                + ("; ".join(f"`{line}`" for line in problems) + ". " if problems else "")
                + (
                    f"Known: {len(known)} fixed cases still answer 500 on PostgreSQL: "
                    + ", ".join(f"`{_case(line)}`" for line in known)
                    + ". PostgreSQL refuses what SQLite accepts (integers beyond 32 bits, NUL in text), and these "
                    "routes pass the value to a query unchecked; they are the office's results routes "
                    "(`survey/results/routes.py`). Fix: refuse the value (a revision above any stored one) before "
                    "the query."
                    if known
                    else ""
                )
            )
        self.command("fuzz")

    def page_weight(self) -> None:
        weight = self.steps.get("page_weight")
        if not weight:
            return
        self.add("", "## Page weight", "")
        if "error" in weight:
            self.add(f"Failed: {weight['error']}")
            return
        self.add(
            "Bytes of each page and everything it loads from the site (stylesheet, script; no CDN), raw and gzip "
            "(level 6). Budget for resident pages (issue 3): ≤ 30,000 bytes gzip, ≤ 100,000 bytes raw.",
            "",
            "| page | status | HTML raw | HTML gzip | total raw | total gzip | budget |",
            "|---|---:|---:|---:|---:|---:|---|",
        )
        for page in weight["pages"]:
            budget = {True: "ok", False: "**over**"}.get(page.get("within_budget"), "(public)")
            self.add(
                f"| {page['page']} | {page['status']} | {page['html_raw']:,} | {page['html_gzip']:,} | "
                f"{page['total_raw']:,} | {page['total_gzip']:,} | {budget} |"
            )
        heaviest = weight["heaviest_resident_page"]
        self.goals.append(
            (
                "Page weight: every resident page ≤ 30 KB gzip, ≤ 100 KB raw",
                f"{weight['resident_within_budget']}/{weight['resident_pages']} within; heaviest "
                f"{heaviest['page']} {heaviest['total_gzip']:,} B gzip / {weight['max_resident_raw']:,} B raw",
                "all",
                weight.get("ok"),
            )
        )
        self.command("page_weight")

    def scoring(self) -> None:
        scoring = self.steps.get("scoring")
        if not scoring:
            return
        self.add("", "## Scoring scale (benchmarks/bench_scoring.py, the scoring engineer's)", "")
        if "missing" in scoring:
            self.add(scoring["missing"])
            self.goals.append(("Scoring scale 10k/100k/1M", "script not in the tree", "≤ 5 s at 1M", None))
            return
        figures = scoring.get("figures")
        if not figures:
            self.add(
                f"The script did not write its figures (exit {scoring.get('returncode')}):",
                "",
                "```",
                *scoring.get("stdout_tail", [])[-15:],
                *scoring.get("stderr_tail", []),
                "```",
            )
            self.goals.append(("Scoring scale 10k/100k/1M", "failed", "≤ 5 s at 1M", None))
            return
        self.add(
            "| responses | estimate step s | CPU s | peak RSS MB | CLI run s | CLI peak RSS MB | jackknife s |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        )
        million = None
        for row in figures.get("sizes", []):
            estimate, cli, jack = row.get("estimate", {}), row.get("cli", {}), row.get("jackknife", {})
            self.add(
                f"| {row['n']:,} | {estimate.get('seconds', estimate.get('error', '—'))} | {estimate.get('cpu_seconds', '—')} | "
                f"{estimate.get('peak_rss_mb', '—')} | {cli.get('seconds', cli.get('error', '—'))} | "
                f"{cli.get('peak_rss_mb', '—')} | {jack.get('seconds', '—') if jack else '—'} |"
            )
            if row["n"] == 1_000_000:
                million = estimate
        self.add(
            "",
            f"Slope of log(time) on log(n): estimate step {figures.get('slope_estimate')}, "
            f"CLI run {figures.get('slope_cli')}.",
        )
        if figures.get("r"):
            self.add(
                "",
                f"R's survey package at 100,000 responses: {figures['r']}; speed-up of the CLI run over R: "
                f"{figures.get('r_speedup')}×.",
            )
        if million and "seconds" in million:
            self.goals.append(
                ("Scoring 1M responses: estimate step", f"{million['seconds']} s", "≤ 5 s", million["seconds"] <= 5.0)
            )
            self.goals.append(
                (
                    "Scoring 1M responses: peak memory",
                    f"{million['peak_rss_mb'] / 1024:.2f} GB",
                    "≤ 3 GB",
                    million["peak_rss_mb"] <= 3 * 1024,
                )
            )
            if million["seconds"] > 5.0:
                self.misses.append(
                    f"**Scoring 1M: {million['seconds']} s (goal ≤ 5 s).** Measured by the scoring "
                    f"engineer's script on this shared machine; phases {million.get('phases')} — see their "
                    "notes in `benchmarks/output/scoring.md`."
                )
        self.command("scoring")

    def storage_and_report(self) -> None:
        storage = self.steps.get("storage")
        if storage:
            self.add("", "## Database export (benchmarks/bench_storage.py)", "")
            if "missing" in storage:
                self.add(storage["missing"])
            elif storage.get("figures"):
                self.add(f"Figures: {storage['figures']}.")
            else:
                self.add(
                    "No figures written:",
                    "",
                    "```",
                    *storage.get("stdout_tail", [])[-10:],
                    *storage.get("stderr_tail", []),
                    "```",
                )
            self.command("storage")
        report = self.steps.get("report")
        if report:
            self.add("", "## Full report (benchmarks/bench_report.py)", "")
            if "missing" in report:
                self.add(report["missing"])
            else:
                self.add("```", *report.get("stdout_tail", [])[-12:], "```")
            self.command("report")

    # ------------------------------------------------------------------ assembly

    def jobs(self) -> None:
        jobs = self.steps.get("jobs")
        if not jobs:
            return
        self.add(
            "",
            "## Office jobs under load: an import and a publication while residents answer",
            "",
            "Through nginx → gunicorn with `manyi worker` as its own process: an administrator uploads a phone "
            "file on the import screen and follows the job's page, then a publisher re-publishes the wave, while "
            "simulated residents walk surveys with pauses (`benchmarks/bench_jobs.py`). Job times are as the "
            "office saw them, polling the job's page.",
            "",
            "| database | rows | residents | resident requests | errors | p99 ms | import: wait / run s | "
            "publish: wait / run s | progress values seen | rows stored |",
            "|---|---:|---:|---:|---:|---:|---|---|---|---:|",
        )
        for kind in ("sqlite", "postgresql"):
            result = jobs.get(kind)
            if not result:
                continue
            if "error" in result:
                self.add(f"| {DATABASE_NAMES[kind]} | failed: {result['error']} |||||||||")
                self.misses.append(f"**Jobs under load, {DATABASE_NAMES[kind]}:** {result['error']}")
                continue
            phase = result.get("residents_phase", {})
            by_kind = {watch["kind"]: watch for watch in result.get("jobs", [])}

            def times(kind_name: str, by_kind: dict[str, Any] = by_kind) -> str:
                watch = by_kind.get(kind_name)
                if not watch:
                    return "not run"
                return f"{watch.get('queued_s')} / {watch.get('ran_s')} ({watch.get('state')})"

            seen = ", ".join(f"{name} {len(watch.get('progress_seen', []))}" for name, watch in by_kind.items())
            p99 = _get(phase, "latency", "p99_ms")
            self.add(
                f"| {DATABASE_NAMES[kind]} | {result.get('rows', 0):,} | {result.get('residents')} | "
                f"{phase.get('requests', 0):,} | {phase.get('errors')} | {_ms(p99)} | {times('import')} | "
                f"{times('publish')} | {seen} | {result.get('imported_rows', 0):,} |"
            )
            met = result.get("met", {})
            name = DATABASE_NAMES[kind]
            self.goals.append(
                (f"Jobs under load {name}: resident errors", str(phase.get("errors")), "0", met.get("resident_errors"))
            )
            self.goals.append(
                (f"Jobs under load {name}: resident p99", f"{_ms(p99)} ms", "< 300 ms", met.get("resident_p99_ms"))
            )
            self.goals.append(
                (
                    f"Jobs under load {name}: import and publish jobs succeed, progress shown",
                    f"{result.get('imported_rows', 0):,} rows stored; {seen}",
                    "both succeed",
                    bool(met.get("jobs_succeeded") and met.get("progress_seen") and met.get("all_rows_imported")),
                )
            )
            if not all(met.values()):
                self.misses.append(
                    f"**Jobs under load, {name}:** {result.get('office_problem') or ''} "
                    f"{phase.get('error_examples')} "
                    + "; ".join(f"{w['kind']}: {w.get('state')} {w.get('error', '')}" for w in by_kind.values())
                )
        self.command("jobs")

    def render(self) -> str:
        data = self.data
        machine = data.get("machine", {})
        for section in (
            self.load,
            self.crash,
            self.retry_storm,
            self.bot_flood,
            self.fuzz,
            self.page_weight,
            self.scoring,
            self.storage_and_report,
            self.jobs,
        ):
            section()
        total = data.get("total_seconds", 0)
        if not data.get("quick") and not data.get("partial"):
            self.goals.append(("`make bench` wall time", f"{total / 60:.1f} min", "< 15 min", total < 15 * 60))
        head = [
            "# Benchmark results",
            "",
            "Generated by `make bench` (`benchmarks/run_all.py`); do not edit by hand. Figures in "
            "`benchmarks/output/*.json`."
            + (" **Quick run: short phases, figures not comparable.**" if data.get("quick") else ""),
            "",
            f"- Date: {data.get('date')}",
            f"- Commit: {data.get('commit')}",
            f"- Machine: {machine.get('cpu')}, {machine.get('cores')} cores, {machine.get('memory_gb')} GB RAM, "
            f"Linux {machine.get('kernel')}, Python {machine.get('python')}",
            f"- Load average at start {machine.get('load_average')}, at end {data.get('load_average_end')}",
            f"- Command: `{data.get('command')}`; total {total / 60:.1f} min "
            f"(seeding the demo instances {data.get('seconds', {}).get('seed', 0):.0f} s)",
            "",
            "**The load generator shares the two cores with the server it measures**, and this machine is shared with "
            "other work. The load tables therefore give, for each phase, the CPU used by the client, the server, Redis, "
            "PostgreSQL and everything else; throughput and latency are what the server achieved with the CPU it got.",
        ]
        if data.get("missing"):
            head += [
                "",
                "Missing on this machine (those steps were skipped): "
                + ", ".join(f"{name} (`{how}`)" for name, how in data["missing"].items()),
            ]
        head += ["", "## Goals", "", "| goal | figure | target | verdict |", "|---|---|---|---|"]
        head += [f"| {goal} | {figure} | {target} | {_mark(met)} |" for goal, figure, target, met in self.goals]
        if self.misses:
            head += ["", "## Goals missed, and what limits them", ""]
            for paragraph in self.misses:
                head += [f"- {paragraph}"]
            head += [
                "",
                "Profile note (in-process, one resident request at a time, no HTTP server or Redis: "
                "`.venv/bin/python benchmarks/profile_respond.py [--profile]`): a page GET costs about 3.7 ms "
                "of CPU and a POST 4.8 ms (before the one-read-per-request rework of 2026-11-30: 9.1 and 8.1 ms). "
                "About a quarter goes to SQLAlchemy reading the visit (point, wave, draft, answers and keys in "
                "one statement), a sixth to Jinja rendering the page, a tenth to the commit; the rest is spread "
                "over Flask, Werkzeug, Babel and the flow logic. `/healthz` does none of this.",
            ]
        return "\n".join(head + [""] + self.lines) + "\n"


def render(data: dict[str, Any]) -> str:
    """The whole RESULTS.md text for one run's figures."""
    return Report(data).render()


HEADLINE_START = "<!-- headline figures: written by benchmarks/run_all.py -->"
HEADLINE_END = "<!-- end of headline figures -->"


def headline(data: dict[str, Any]) -> str:
    """The goals table alone (figure, target, verdict), for the README."""
    report = Report(data)
    report.render()
    lines = [
        HEADLINE_START,
        "",
        f"From the run of {data.get('date', '?')[:10]} (commit {data.get('commit')}), "
        f"{data.get('machine', {}).get('cores')} shared cores; details in [RESULTS.md](RESULTS.md).",
        "",
        "| goal | figure | target | verdict |",
        "|---|---|---|---|",
    ]
    lines += [f"| {goal} | {figure} | {target} | {_mark(met)} |" for goal, figure, target, met in report.goals]
    return "\n".join([*lines, "", HEADLINE_END])


def replace_headline(readme: str, data: dict[str, Any]) -> str:
    """``readme`` with its headline block replaced (or appended when it has none)."""
    block = headline(data)
    if HEADLINE_START in readme and HEADLINE_END in readme:
        before, rest = readme.split(HEADLINE_START, 1)
        after = rest.split(HEADLINE_END, 1)[1]
        return before + block + after
    return readme.rstrip("\n") + "\n\n## Headline figures\n\n" + block + "\n"
