"""``kopeck billing``: billing runs on the command line.

* ``kopeck billing run --date YYYY-MM-DD --mode sandbox|auto|confirm [--client ID ...]
  [--plan CODE ...] [--tag NAME ...]`` — create and execute a run with a progress bar, print the
  summary (a confirm run stops awaiting confirmation and prints its fingerprint);
* ``kopeck billing confirm RUN_ID [--fingerprint HEX]`` — apply a run awaiting confirmation
  (default fingerprint: the run as stored now); ``kopeck billing reject RUN_ID`` — reject it;
* ``kopeck billing export RUN_ID [--format csv|xlsx] [-o FILE]`` — the run's lines as CSV (default;
  standard output without ``-o``) or as an XLSX workbook (sheets Lines and Summary; needs ``-o``);
* ``kopeck billing compare RUN_A RUN_B`` — added / removed / changed lines per client (JSON);
* ``kopeck billing resume RUN_ID`` — resume an interrupted or failed run (the chunks done are kept).

With a Celery broker configured, ``run``, ``confirm`` and ``resume`` dispatch the run's chunks to the
workers and follow its progress until it ends (``--no-wait``: return at once); in the embedded
default the run executes in this process.

Bad input exits non-zero with the offending field named.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from tqdm import tqdm

from kopeck.billing import services
from kopeck.billing.exports import write_xlsx
from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.cli.command import KopeckCommand, SubcommandParser, os_reason
from kopeck.common.actor import Actor
from kopeck.common.errors import KopeckError


def _problem(exc: KopeckError) -> CommandError:
    lines = [f"{field}: {msg}" for field, msgs in exc.errors.items() for msg in msgs]
    return CommandError("; ".join(lines) or exc.detail)


class _Raw:
    """The command's stderr for tqdm: written as is (no line ending added)."""

    def __init__(self, out: OutputWrapper) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()


EXPORT_FORMATS = ["csv", "xlsx"]


class Command(KopeckCommand):
    help = gettext_lazy("Billing runs: run (sandbox, auto, confirm), confirm or reject a run, export its "
                        "lines, compare two runs.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{run,confirm,reject,export,compare}",
                                    parser_class=SubcommandParser)
        run = sub.add_parser("run", help=_("Create and execute a billing run."))
        run.add_argument("--date", required=True, help=_("The billing date, YYYY-MM-DD (today or earlier)."))
        run.add_argument("--mode", required=True, choices=RunMode.values,
                         help=_("sandbox (compute only), auto (compute and post), confirm (compute, then wait "
                               "for a confirmation)."))
        run.add_argument("--client", type=int, action="append", default=[], help=_("A client id (repeatable)."))
        run.add_argument("--plan", action="append", default=[], help=_("A plan code (repeatable)."))
        run.add_argument("--tag", action="append", default=[], help=_("A client tag (repeatable)."))
        run.add_argument("--no-progress", action="store_true", help=_("Do not show the progress bar."))
        run.add_argument("--no-wait", action="store_true", help=_("With workers: return once dispatched."))
        confirm = sub.add_parser("confirm", help=_("Apply a run awaiting confirmation."))
        confirm.add_argument("run_id", type=int)
        confirm.add_argument("--fingerprint", default="", help=_("The reviewed fingerprint (default: the run as stored)."))
        confirm.add_argument("--no-progress", action="store_true", help=_("Do not show the progress bar."))
        confirm.add_argument("--no-wait", action="store_true", help=_("With workers: return once dispatched."))
        resume = sub.add_parser("resume", help=_("Resume an interrupted or failed run."))
        resume.add_argument("run_id", type=int)
        resume.add_argument("--no-progress", action="store_true", help=_("Do not show the progress bar."))
        resume.add_argument("--no-wait", action="store_true", help=_("With workers: return once dispatched."))
        reject = sub.add_parser("reject", help=_("Reject a run awaiting confirmation (nothing is posted)."))
        reject.add_argument("run_id", type=int)
        export = sub.add_parser("export", help=_("Export a run's lines."))
        export.add_argument("run_id", type=int)
        export.add_argument("--format", choices=EXPORT_FORMATS, default="csv", dest="fmt",
                            help=_("csv (default) or xlsx (a workbook: sheets Lines and Summary; needs --output)."))
        export.add_argument("-o", "--output", help=_("A file (default: standard output; csv only)."))
        compare = sub.add_parser("compare", help=_("Compare two runs per client and line."))
        compare.add_argument("run_a", type=int)
        compare.add_argument("run_b", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli")
        try:
            if options["action"] == "run":
                self._run(actor, options)
            elif options["action"] == "confirm":
                run = self._get(options["run_id"])
                fingerprint = options["fingerprint"] or run_fingerprint(run)
                self._print(self._go(run, options, lambda progress: services.billing_run_confirm(
                    actor=actor, run=run, fingerprint=fingerprint, progress=progress),
                    lambda: services.billing_run_confirm_dispatch(actor=actor, run=run, fingerprint=fingerprint)))
            elif options["action"] == "resume":
                run = self._get(options["run_id"])
                self._print(self._go(run, options, lambda progress: services.billing_run_execute(
                    actor=actor, run=run, progress=progress), lambda: services.billing_run_dispatch(actor=actor, run=run)))
            elif options["action"] == "reject":
                self._print(services.billing_run_reject(actor=actor, run=self._get(options["run_id"])))
            elif options["action"] == "export":
                self._export(options)
            else:
                result = services.billing_runs_compare(self._get(options["run_a"]), self._get(options["run_b"]))
                self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        except KopeckError as exc:
            raise _problem(exc) from None

    def _get(self, pk: int) -> BillingRun:
        run = BillingRun.objects.filter(pk=pk).first()
        if run is None:
            raise CommandError(_("billing run %(id)s does not exist") % {"id": pk})
        return run

    def _run(self, actor: Actor, options: dict[str, Any]) -> None:
        scope = {"clients": options["client"], "plans": options["plan"], "tags": options["tag"]}
        run = services.billing_run_create(actor=actor, billing_date=options["date"], mode=options["mode"],
                                          scope={k: v for k, v in scope.items() if v})
        self._print(self._go(run, options, lambda progress: services.billing_run_execute(
            actor=actor, run=run, progress=progress), lambda: services.billing_run_dispatch(actor=actor, run=run)))

    def _go(self, run: BillingRun, options: dict[str, Any], here: Any, dispatch: Any) -> BillingRun:
        """Execute in this process (embedded default) or dispatch to the workers and follow the run."""
        bar = self._bar(run, options)
        try:
            if settings.CELERY_TASK_ALWAYS_EAGER:
                result: BillingRun = here(self._progress(bar))
                return result
            run = dispatch()
            progress = self._progress(bar)
            while not options.get("no_wait") and run.status in (RunStatus.PENDING, RunStatus.COMPUTING,
                                                                    RunStatus.APPLYING):
                time.sleep(0.5)
                run.refresh_from_db()
                done = (run.applied, run.apply_total) if run.status == RunStatus.APPLYING else (run.processed, run.total)
                progress(*done)
            if run.status == RunStatus.FAILED:
                raise CommandError(_("billing run %(id)s failed; resume it with: kopeck billing resume %(id)s")
                                   % {"id": run.pk})
            return run
        finally:
            bar.close()

    def _bar(self, run: BillingRun, options: dict[str, Any]) -> Any:
        return tqdm(total=run.total, unit=pgettext("progress unit", "sub"), file=_Raw(self.stderr),
                    disable=options["no_progress"], desc=_("run #%(id)s") % {"id": run.pk})

    @staticmethod
    def _progress(bar: Any) -> services.Progress:
        def progress(processed: int, total: int) -> None:
            bar.total = total
            bar.n = processed
            bar.refresh()

        return progress

    def _print(self, run: BillingRun) -> None:
        body: dict[str, Any] = {"run": run.pk, "status": run.status, "billing_date": str(run.billing_date),
                                "mode": run.mode, "summary": run.summary}
        if run.status == RunStatus.AWAITING_CONFIRMATION:
            body["fingerprint"] = run_fingerprint(run)
        self.stdout.write(json.dumps(body, ensure_ascii=False, indent=2))

    def _export(self, options: dict[str, Any]) -> None:
        if options["fmt"] not in EXPORT_FORMATS:  # call_command() skips argparse's choices
            raise CommandError(_("unknown format %(format)r (one of %(formats)s)")
                               % {"format": options["fmt"], "formats": ", ".join(EXPORT_FORMATS)})
        if options["fmt"] == "xlsx" and not options["output"]:
            raise CommandError(_("--format xlsx needs --output FILE (a workbook is not written to standard output)"))
        run = self._get(options["run_id"])
        if options["fmt"] == "xlsx":
            try:
                with Path(options["output"]).open("wb") as fh:
                    write_xlsx(run, fh)
            except OSError as exc:
                raise CommandError(_("cannot write %(file)s: %(reason)s")
                                   % {"file": options["output"], "reason": os_reason(exc)}) from None
            return
        chunks = services.run_export_csv(run)
        if options["output"]:
            try:
                with Path(options["output"]).open("w", encoding="utf-8", newline="") as fh:
                    for chunk in chunks:
                        fh.write(chunk)
            except OSError as exc:
                raise CommandError(_("cannot write %(file)s: %(reason)s")
                                   % {"file": options["output"], "reason": os_reason(exc)}) from None
        else:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
