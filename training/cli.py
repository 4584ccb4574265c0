"""The ``denials`` command line: thin commands that call one library function each and print a summary."""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from claims.errors import X12Error
from claims.ingest import expand_paths, ingest

if TYPE_CHECKING:
    import uvicorn

app = typer.Typer(
    name="denials",
    help="Predict which lines of an oncology claim will be denied, why, and what to change.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
x12_app = typer.Typer(help="Work with X12 837/835 files.", no_args_is_help=True)
app.add_typer(x12_app, name="x12")

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

#: Options that take several values after one flag (``--claims a b c``).
_MULTI_VALUE_OPTIONS = {"--claims", "--remits"}


def _id_salt(out: Path, salt: str | None) -> str:
    """The salt for hashing patient ids: --salt, else DENIALS_ID_SALT, else one kept with the output."""
    if salt:
        return salt
    if env := os.environ.get("DENIALS_ID_SALT"):
        return env
    path = out / ".id_salt"
    if path.exists():
        return path.read_text().strip()
    out.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    path.write_text(value + "\n")
    path.chmod(0o600)
    return value


@app.command("ingest")
def ingest_command(
    claims: Annotated[list[Path], typer.Option("--claims", help="837P/837I or JSON claim files or folders.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder for lines.parquet and summary.json.")],
    remits: Annotated[list[Path] | None, typer.Option("--remits", help="835 files or folders.")] = None,
    salt: Annotated[
        str | None, typer.Option(help="Salt for hashing patient ids (or DENIALS_ID_SALT).")
    ] = None,
) -> None:
    """Read claims and remittances, join outcomes to lines, and write a labeled line table."""
    remits = remits or []
    total = len(expand_paths([*claims, *remits]))
    with Progress(
        TextColumn("[bold]reading"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=err_console,
        transient=True,
        disable=total < 3,
    ) as progress:
        task = progress.add_task("", total=total)

        def on_file(path: Path, number: int, count: int) -> None:
            progress.update(task, completed=number - 1, description=path.name)

        summary = ingest(claims, remits, out, salt=_id_salt(out, salt), on_file=on_file)
        progress.update(task, completed=total)
    table = Table(title="ingest", show_header=False)
    for key in (
        "file_count",
        "files_with_errors",
        "claims",
        "lines",
        "remittance_claims",
        "remittance_lines",
        "matched_lines",
        "unmatched_remittance_claims",
        "unmatched_remittance_lines",
        "claim_lines_missing_from_their_remittance",
        "claims_without_remittance",
        "labeled_lines",
        "denied_lines",
        "denial_rate",
    ):
        table.add_row(key.replace("_", " "), str(summary[key]))
    if summary["unknown_carcs"]:
        table.add_row("unknown CARCs (counted as other)", json.dumps(summary["unknown_carcs"]))
    console.print(table)
    for report in summary["files"]:
        for error in report["errors"]:
            err_console.print(f"[red]error[/red] {error}", highlight=False, soft_wrap=True)
    console.print(f"wrote {summary['outputs']['lines']} and {summary['outputs']['summary']}")
    if summary["files_with_errors"] == summary["file_count"] and summary["file_count"]:
        raise typer.Exit(1)


@x12_app.command("check")
def x12_check(
    files: Annotated[list[Path], typer.Argument(help="X12 files to check.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file on stdout.")] = False,
) -> None:
    """Validate X12 files and print what is wrong and where; exit 1 when any file has errors."""
    failed = False
    for path in files:
        if not path.is_file():
            err_console.print(f"{path}: no such file")
            failed = True
            continue
        from claims.x12 import read_x12  # x12sdk's segment classes take ~0.3 s to import

        doc = read_x12(path)
        errors = [e.one_line() if isinstance(e, X12Error) else str(e) for e in doc.errors]
        failed |= bool(errors)
        if as_json:
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "transactions": doc.transactions,
                        "claims": len(doc.claims),
                        "lines": doc.line_count,
                        "remittances": len(doc.remittances),
                        "remittance_claims": sum(len(r.claims) for r in doc.remittances),
                        "raw_segments": dict(doc.raw_counts),
                        "errors": errors,
                        "warnings": [w.one_line() for w in doc.warnings],
                    }
                )
            )
            continue
        status = "[red]errors[/red]" if errors else "[green]ok[/green]"
        console.print(
            f"{path}: {status} — {doc.transactions} transactions, {len(doc.claims)} claims, "
            f"{doc.line_count} lines, {sum(len(r.claims) for r in doc.remittances)} remittance claims",
            highlight=False,
            soft_wrap=True,
        )
        for error in errors:
            console.print(f"  {error}", highlight=False, soft_wrap=True)
        for warning in doc.warnings:
            console.print(f"  [yellow]warning[/yellow] {warning.one_line()}", highlight=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


@app.command("audit")
def audit_command(
    file: Annotated[Path, typer.Argument(help="An 837P/837I file or a JSON list of claims.")],
    as_json: Annotated[bool, typer.Option("--json", help="Findings as JSON on stdout.")] = False,
    authorizations: Annotated[
        Path | None,
        typer.Option(help="JSON list of authorizations on file (number, payer_id, member_id, ...)."),
    ] = None,
) -> None:
    """Audit claims before submission; exit 1 when any finding is an error (for submission pipelines)."""
    from pydantic import TypeAdapter, ValidationError

    from claims.audit import Severity, audit_claim
    from claims.ingest import read_inputs
    from claims.model import Authorization
    from claims.policy import load_payers

    result = read_inputs([file])
    for error in result.errors:
        err_console.print(f"[red]error[/red] {error}", highlight=False)
    if not result.claims:
        raise typer.Exit(2)
    auths: list[Authorization] = []
    if authorizations is not None:
        try:
            auths = TypeAdapter(list[Authorization]).validate_json(authorizations.read_bytes())
        except (OSError, ValidationError) as e:
            err_console.print(f"[red]error[/red] {authorizations}: not a JSON list of authorizations ({e})")
            raise typer.Exit(2) from e
    policies = {p.payer_id: p for p in load_payers().values()}
    report: list[dict[str, Any]] = []
    has_error = False
    for index, claim in enumerate(result.claims):
        findings = audit_claim(
            claim,
            payer=policies.get(claim.payer.payer_id),
            authorizations=[a for a in auths if a.payer_id == claim.payer.payer_id],
            submitted=result.claims[:index],
        )
        has_error |= any(f.severity is Severity.ERROR for f in findings)
        report.append({"claim_id": claim.claim_id, "findings": [f.to_dict() for f in findings]})
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for entry in report:
            table = Table(title=f"claim {entry['claim_id']}", show_lines=False)
            for column in ("severity", "rule", "lines", "message", "fix"):
                table.add_column(column)
            for f in entry["findings"]:
                fix = f["fix"]["description"] if f["fix"] else ""
                style = "red" if f["severity"] == "error" else "yellow"
                lines = ",".join(map(str, f["lines"]))
                table.add_row(f"[{style}]{f['severity']}[/{style}]", f["rule_id"], lines, f["message"], fix)
            if not entry["findings"]:
                table.add_row("[green]ok[/green]", "", "", "no findings", "")
            console.print(table)
    if has_error:
        raise typer.Exit(1)


@app.command("simulate")
def simulate_command(
    out: Annotated[Path, typer.Option(help="Output folder.")],
    claims: Annotated[
        int | None, typer.Option(help="Number of claims (before duplicate submissions).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed: the same seed gives the same bytes.")] = None,
    start: Annotated[
        dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="First service date.")
    ] = None,
    end: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="Last service date.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file of simulation settings.")] = None,
    x12: Annotated[bool, typer.Option("--x12", help="Also write the 837 and 835 files.")] = False,
) -> None:
    """Simulate an oncology practice and its payers: Parquet tables (and X12 files) with ground truth."""
    from claims.errors import ClaimsError
    from claims.simulate import load_config, simulate_practice, write_simulation

    try:
        settings = load_config(
            config,
            claims=claims,
            seed=seed,
            start=start.date() if start else None,
            end=end.date() if end else None,
        )
    except ClaimsError as e:
        err_console.print(f"[red]error[/red] {e}", highlight=False)
        raise typer.Exit(2) from e
    with console.status(f"simulating {settings.claims} claims (seed {settings.seed})"):
        result = simulate_practice(settings)
        summary = write_simulation(result, out, x12=x12)
    table = Table(title="simulate", show_header=False)
    for key in ("claims", "lines", "authorizations", "remittances", "injected_errors", "denial_rate"):
        table.add_row(key.replace("_", " "), str(summary[key]))
    table.add_row("denial categories", json.dumps(summary["denial_categories"]))
    console.print(table)
    console.print(
        f"wrote {out}/lines.parquet, outcomes.parquet, truth.parquet, authorizations.parquet"
        + (f" and {len(summary['x12_files'])} X12 files in {out}/x12" if x12 else "")
    )


def _training_setup(config: Path | None, profile: str, profiles: Path | None) -> tuple[Any, Any]:
    from training.config import ConfigError, load_config, load_profile

    try:
        return load_config(config), load_profile(profile, profiles)
    except ConfigError as e:
        err_console.print(f"[red]error[/red]: {e}")
        raise typer.Exit(2) from None


def _metrics_table(title: str, metrics: dict[str, dict[str, float]]) -> Table:
    from training.evaluate import summary_rows  # noqa: F401  (same headline columns as the model card)

    columns = (
        "roc_auc",
        "pr_auc",
        "brier",
        "ece",
        "recall_at_90_precision",
        "lift_top10",
        "denied_dollars_top10",
    )
    table = Table(title=title)
    table.add_column("scorer")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for scorer, values in metrics.items():
        table.add_row(scorer, *(f"{values[c]:.4f}" if c in values else "" for c in columns))
    return table


@app.command("train")
def train_command(
    data: Annotated[
        Path, typer.Option(help="Data folder: lines.parquet (+ outcomes, authorizations, truth).")
    ],
    config: Annotated[
        Path | None, typer.Option(help="Training config YAML (default: the packaged one).")
    ] = None,
    profile: Annotated[str, typer.Option(help="Profile name: tracking URI and model name.")] = "local",
    profiles: Annotated[Path | None, typer.Option(help="Profiles YAML (default: the packaged one).")] = None,
    promote: Annotated[bool, typer.Option(help="Make it champion if it beats the current one.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")] = False,
) -> None:
    """Train LightGBM on a data folder, evaluate it against baselines (and the oracle), log it to MLflow."""
    from training.dataset import DataError
    from training.train import train_model

    settings, where = _training_setup(config, profile, profiles)
    try:
        with console.status("training") as status:
            result = train_model(data, settings, where, promote=promote, progress=lambda m: status.update(m))
    except DataError as e:
        err_console.print(f"[red]error[/red]: {e}")
        raise typer.Exit(2) from None
    evaluation = result.evaluation
    summary = {
        "model": {"name": result.registered.name, "version": result.registered.version,
                  "run_id": result.registered.run_id},
        "promoted": result.promoted,
        "promotion": result.promotion_reason,
        "split": result.split,
        "metrics": evaluation.metrics,
        "ratios": evaluation.ratios(),
        "reason_top1_accuracy": evaluation.reason_accuracy,
        "capacity": result.capacity,
        "timings_s": {k: round(v, 2) for k, v in result.timings.items()},
    }  # fmt: skip
    if as_json:
        print(json.dumps(summary, default=float))
        return
    console.print(_metrics_table("test period: model vs baselines vs oracle", evaluation.metrics))
    ratios = evaluation.ratios()
    if ratios:
        console.print(
            f"ROC-AUC / oracle {ratios['roc_auc_vs_oracle']:.4f}, PR-AUC / oracle {ratios['pr_auc_vs_oracle']:.4f}"
        )
    if evaluation.reason_accuracy is not None:
        console.print(f"reason top-1 accuracy on denied lines: {evaluation.reason_accuracy:.4f}")
    console.print(
        f"registered [bold]{result.registered.name}[/bold] version {result.registered.version} "
        f"(alias challenger; run {result.registered.run_id}); "
        + ("[green]promoted to champion[/green]" if result.promoted else "not promoted")
        + f": {result.promotion_reason}"
    )


@app.command("evaluate")
def evaluate_command(
    data: Annotated[Path, typer.Option(help="Data folder to evaluate on (its test period).")],
    model: Annotated[str, typer.Option(help="Model URI, e.g. models:/oncology-denials@champion.")],
    config: Annotated[Path | None, typer.Option(help="Training config YAML (for the split).")] = None,
    profile: Annotated[str, typer.Option(help="Profile name (tracking URI).")] = "local",
    profiles: Annotated[Path | None, typer.Option(help="Profiles YAML.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout, for scripts.")] = False,
) -> None:
    """Evaluate a registered model on a data folder's test period, beside the baselines (and the oracle)."""
    from training.dataset import DataError
    from training.tracking import TrackingError
    from training.train import evaluate_registered

    settings, where = _training_setup(config, profile, profiles)
    try:
        evaluation = evaluate_registered(model, data, where, settings)
    except (DataError, TrackingError) as e:
        err_console.print(f"[red]error[/red]: {e}")
        raise typer.Exit(2) from None
    if as_json:
        payload = {"model": model, "metrics": evaluation.metrics, "ratios": evaluation.ratios(),
                   "reason_top1_accuracy": evaluation.reason_accuracy}  # fmt: skip
        print(json.dumps(payload, default=float))
        return
    console.print(_metrics_table(f"{model} on the test period of {data}", evaluation.metrics))


SettingsT = TypeVar("SettingsT")


def _settings_or_exit(read: Callable[[], SettingsT]) -> SettingsT:
    """Settings read from ``DENIALS_*``; invalid ones end the command with one line each (no traceback)."""
    from pydantic import ValidationError

    try:
        return read()
    except ValidationError as e:
        for error in e.errors():
            where = f"DENIALS_{str(error['loc'][0]).upper()}: " if error["loc"] else ""
            message = error["msg"].removeprefix("Value error, ")
            err_console.print(f"[red]error[/red]: {where}{message}", highlight=False)
        raise typer.Exit(2) from None


@app.command("serve")
def serve_command(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
    model: Annotated[
        str | None, typer.Option(help="Model URI or folder (default models:/oncology-denials@champion).")
    ] = None,
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking/registry URI.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    demo: Annotated[
        bool, typer.Option(help="Local demo: 127.0.0.1 only, a demo API key, no DENIALS_ID_SALT needed.")
    ] = False,
) -> None:
    """Start the scoring service (settings from DENIALS_* environment variables; options override them)."""
    import uvicorn

    from serving.settings import Settings

    given = {"HOST": host, "PORT": port, "MODEL_URI": model, "TRACKING_URI": tracking_uri}
    # Workers are separate processes that read their settings from the environment.
    os.environ.update({f"DENIALS_{k}": str(v) for k, v in given.items() if v is not None})
    if demo:
        os.environ["DENIALS_DEMO"] = "true"
    settings = _settings_or_exit(lambda: Settings().with_demo_key())
    url = f"http://{settings.host}:{settings.port}"
    if settings.demo:
        key = settings.demo_key.get_secret_value() if settings.demo_key else "<one of your keys>"
        os.environ["DENIALS_DEMO_KEY"] = key
        err_console.print(
            f"[bold red]DEMO MODE[/bold red]: listening on {url} only (not for patient data).\n"
            f"demo API key: [bold]{key}[/bold]\n"
            f'try: curl -s -H "X-API-Key: {key}" -H "Content-Type: application/edi-x12" '
            f"--data-binary @tests/data/x12/golden/office_nsclc_carbo_pem_pembro.837p {url}/v1/x12/837/score",
            highlight=False,
        )
    from serving.app import log_config
    from serving.server import NoDelayHttpToolsProtocol, loop_name

    options: dict[str, Any] = dict(
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_config=log_config(),
        access_log=False,  # the service logs one line per request itself, with its request id
        http=NoDelayHttpToolsProtocol,  # uvicorn's httptools protocol with TCP_NODELAY (see serving/server.py)
        loop=loop_name(),
        timeout_worker_healthcheck=120,  # a worker imports the packages and loads the model before it answers
    )
    if workers > 1 and _serve_workers_on_own_sockets(
        uvicorn.Config("serving.app:create_app_from_env", **options)
    ):
        return
    uvicorn.run("serving.app:create_app_from_env", **options)


def _serve_workers_on_own_sockets(config: uvicorn.Config) -> bool:
    """uvicorn's worker supervisor with a listening socket per worker (``SO_REUSEPORT``; see
    :mod:`serving.server`), so that the kernel, not the first worker to wake, spreads connections. False
    where the platform lacks it (then uvicorn's shared socket is used)."""
    import logging

    from uvicorn.supervisors import Multiprocess

    from serving.server import ReusePortListener, reuse_port_supported

    if not reuse_port_supported():
        return False
    try:
        sock = ReusePortListener.bind_to(config.host, config.port)
    except OSError as e:
        err_console.print(f"cannot listen on {config.host}:{config.port}: {e.strerror or e}")
        raise typer.Exit(1) from None
    host, port = sock.getsockname()[:2]
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d with %d workers, a listening socket each (Press CTRL+C to quit)",
        host,
        port,
        config.workers,
    )
    try:
        Multiprocess(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    return True


@app.command("score")
def score_command(
    files: Annotated[
        list[Path], typer.Argument(help="837P/837I, JSON/JSONL claims, or Parquet/CSV line tables.")
    ],
    out: Annotated[Path, typer.Option(help="Output: .jsonl, .json, .csv or .parquet.")],
    model: Annotated[str, typer.Option(help="Model URI or folder.")] = "models:/oncology-denials@champion",
    tracking_uri: Annotated[str | None, typer.Option(help="MLflow tracking/registry URI.")] = None,
    authorizations: Annotated[
        Path | None, typer.Option(help="Authorizations on file: authorizations.parquet or a JSON list.")
    ] = None,
    explain: Annotated[
        str, typer.Option(help="auto, all or none (none: probabilities and findings only).")
    ] = "auto",
    fixes: Annotated[bool, typer.Option(help="Re-score each finding's fix.")] = True,
    cache: Annotated[Path, typer.Option(help="Model cache folder.")] = Path("data/serving/model-cache"),
    compiled: Annotated[
        bool,
        typer.Option(
            help="Predict with the trees compiled by lleaves (checked against LightGBM; cached in "
            "CACHE/compiled); explanations stay LightGBM's."
        ),
    ] = True,
    jobs: Annotated[
        int, typer.Option(min=0, help="Worker processes (0: the CPUs available, at most 2).")
    ] = 0,
) -> None:
    """Score claim files in bounded memory: the API's content, one chunk at a time."""
    from serving.batch import read_authorizations, score_files
    from serving.errors import ServingError
    from serving.model_store import load_model
    from serving.scorer import ModelScorer
    from serving.settings import ExplainSettings

    if explain not in ("auto", "all", "none"):
        err_console.print(f"[red]error[/red]: --explain must be auto, all or none, not {explain!r}")
        raise typer.Exit(2)
    # The same explanation settings as the API (DENIALS_EXPLAIN_*), so both return the same content.
    explain_settings = _settings_or_exit(ExplainSettings)
    try:
        with console.status(f"loading {model}"):
            loaded = load_model(model, tracking_uri=tracking_uri, cache=cache)
        auths = read_authorizations(authorizations) if authorizations is not None else None
    except ServingError as e:
        err_console.print(f"[red]error[/red]: {e.detail}", highlight=False)
        raise typer.Exit(2) from None
    if loaded.info.note:
        err_console.print(f"[yellow]warning[/yellow]: {loaded.info.note}", highlight=False)
    scorer = ModelScorer(
        loaded.model,
        loaded.info,
        salt=os.environ.get("DENIALS_ID_SALT") or secrets.token_hex(16),
        **explain_settings.explain_options(),
    )
    if compiled:
        with console.status("compiling the trees (cached after the first time)"):
            if not scorer.use_compiled(cache / "compiled"):
                err_console.print(f"[yellow]warning[/yellow]: {scorer.predictor}", highlight=False)
    total = 0
    for path in files:
        if path.suffix.lower() == ".parquet" and path.is_file():
            import pyarrow.parquet as pq

            total += pq.ParquetFile(path).metadata.num_rows
    with Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("lines"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=total or None)
        summary = score_files(
            files,
            out,
            scorer=scorer,
            authorizations=auths,
            explain=explain,  # type: ignore[arg-type]
            fixes=fixes,
            jobs=jobs or min(len(os.sched_getaffinity(0)), 2),
            on_lines=lambda n: progress.advance(task, n),
        )
    for error in summary.errors:
        err_console.print(f"[red]error[/red] {error}", highlight=False, soft_wrap=True)
    rate = summary.lines / summary.seconds if summary.seconds else 0.0
    console.print(
        f"scored {summary.claims} claims, {summary.lines} lines from {summary.files} files in "
        f"{summary.seconds:.1f} s ({rate:,.0f} lines/s) with {loaded.info.name} version {loaded.info.version}; "
        f"wrote {out}"
    )
    if summary.errors and not summary.claims:
        raise typer.Exit(1)


@app.command("demo")
def demo_command(
    out: Annotated[Path, typer.Option(help="Folder for the demo's files and outputs.")] = Path("data/demo"),
    claims: Annotated[int, typer.Option(help="Claims to simulate.")] = 3000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    serve: Annotated[bool, typer.Option(help="End by serving the champion on 127.0.0.1 (demo mode).")] = True,
    port: Annotated[int, typer.Option(help="Port of the demo service.")] = 8000,
) -> None:
    """The main job: simulate a practice as real X12, check and ingest the files, train a first champion,
    and serve it on localhost in demo mode (a demo key and an example curl are printed; Ctrl-C stops)."""
    from claims.simulate import SimulationConfig, simulate_practice, write_simulation

    settings = SimulationConfig(claims=claims, seed=seed)
    with console.status(f"simulating {claims} claims of an oncology practice and its payers"):
        summary = write_simulation(simulate_practice(settings), out / "simulated", x12=True)
    x12 = out / "simulated" / "x12"
    console.print(
        f"simulated {summary['claims']} claims, {summary['lines']} lines, {summary['remittances']} remittances "
        f"({summary['period'][0]} to {summary['period'][1]}); {len(summary['x12_files'])} X12 files in {x12}"
    )
    claim_files = sorted(x12.glob("*.837*"))
    x12_check([claim_files[0], *sorted(x12.glob("*.835"))[:1]], as_json=False)
    ingest_command(
        claims=claim_files, out=out / "ingested", remits=sorted(x12.glob("*.835")), salt=settings.id_salt
    )
    train_command(data=out / "simulated", promote=True)
    store = out / "simulated" / "mlflow" / "mlflow.db"
    console.print(
        f"[bold]demo done[/bold]: the labeled line table is {out / 'ingested' / 'lines.parquet'}; "
        f"the simulator's ground truth is {out / 'simulated' / 'truth.parquet'}; the model is "
        f"models:/oncology-denials@champion in the MLflow store {store} "
        f"(`.venv/bin/mlflow ui --backend-store-uri sqlite:///{store.resolve()}`)"
    )
    if serve:
        serve_command(port=port, tracking_uri=f"sqlite:///{store.resolve()}", demo=True)


def _expand_multi_value_options(argv: list[str]) -> list[str]:
    """Turn ``--claims a b --remits c`` into ``--claims a --claims b --remits c`` for Typer."""
    expanded: list[str] = []
    current: str | None = None
    for arg in argv:
        if arg in _MULTI_VALUE_OPTIONS:
            current = arg
            continue
        if arg.startswith("-"):
            current = None
            expanded.append(arg)
        elif current is not None:
            expanded += [current, arg]
        else:
            expanded.append(arg)
    return expanded


def main() -> None:
    """Console-script entry point."""
    app(args=_expand_multi_value_options(sys.argv[1:]), prog_name="denials")
