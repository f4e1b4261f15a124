"""Command line: one group, a short function per verb. All logic lives in the library."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from .settings import ConfigError, load_settings


def _system(ctx: click.Context):
    from .system import build_system

    if "system" not in ctx.obj:
        ctx.obj["system"] = build_system(ctx.obj["settings"])
    return ctx.obj["system"]


def _ensure_index(ctx: click.Context, quiet: bool = False) -> None:
    """Ingest the corpus folder when it is missing from the index or stale. An empty index is
    built with progress shown (on stderr) whatever ``quiet`` says: it takes minutes, not seconds."""
    system = _system(ctx)
    if not quiet or system.store.count() == 0:
        if system.store.count() == 0:
            click.echo(f"索引为空，正在首次建立索引（{system.settings.corpus.path}，约需 2–3 分钟）……", err=True)
        quiet = False
    summary = system.ingestor.ingest([system.settings.corpus.path], progress=not quiet)
    if summary.changed_anything or summary.failed:
        for line in summary.lines():
            click.echo(line, err=True)


def _positive(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 1:
        raise click.BadParameter(f"须为正整数（至少 1），收到 {value}")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--settings",
    "settings_path",
    envvar="RAG_SETTINGS",
    type=click.Path(dir_okay=False),
    help="Settings YAML (default settings.yaml; env RAG_SETTINGS).",
)
@click.option("--profile", envvar="RAG_PROFILE", help="Settings profile, e.g. test (env RAG_PROFILE).")
@click.pass_context
def cli(ctx: click.Context, settings_path: str | None, profile: str | None) -> None:
    """学习助手 (rag): cited Q&A over the corpus of policy and study documents.

    State (the Chroma index, caches) lives in RAG_HOME (default ./.rag).
    """
    ctx.ensure_object(dict)
    try:
        ctx.obj["settings"] = load_settings(settings_path, profile)
    except ConfigError as exc:
        error = click.ClickException(str(exc))
        error.exit_code = 2
        raise error from exc


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--rebuild", is_flag=True, help="Drop the collection and ingest everything again.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.pass_context
def ingest(ctx: click.Context, paths: tuple[str, ...], rebuild: bool, quiet: bool) -> None:
    """Ingest files or folders (default: the corpus folder) into the index.

    Unchanged files are skipped; changed files are re-chunked; files removed from a
    folder given here lose their chunks. Ends with a summary; exits 1 if a file failed.
    """
    settings = ctx.obj["settings"]
    if rebuild:
        from .store import make_client

        client = make_client(settings)
        for name in (settings.store.collection, f"{settings.store.collection}__files", f"{settings.store.collection}__sentences"):
            try:
                client.delete_collection(name)
            except Exception:
                pass
    system = _system(ctx)
    summary = system.ingestor.ingest(list(paths) or [settings.corpus.path], progress=not quiet)
    for line in summary.lines():
        click.echo(line)
    sys.exit(1 if summary.failed else 0)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the batch-format JSON record.")
@click.option("-k", "--top-k", type=int, callback=_positive, help="Passages retrieved (at least 1).")
@click.option("--mode", type=click.Choice(["hybrid", "bm25", "dense"]), help="Retrieval mode.")
@click.option("--doc", "docs", multiple=True, help="Only these documents (file name or article title).")
@click.option("--author", default="", help="Only passages by this author.")
@click.option("--date-from", default="", help="Earliest date, e.g. 2024-01-01.")
@click.option("--date-to", default="", help="Latest date.")
@click.pass_context
def ask(ctx, question, as_json, top_k, mode, docs, author, date_from, date_to) -> None:
    """Answer one question with cited sources."""
    from .answer import QuestionError
    from .retrieve import FilterError, Filters, check_date, check_filters

    try:  # a malformed date is refused before any index work
        check_date(date_from, "--date-from")
        check_date(date_to, "--date-to")
    except FilterError as exc:
        raise click.UsageError(str(exc)) from exc
    system = _system(ctx)
    _ensure_index(ctx, quiet=True)
    try:
        filters = check_filters(Filters(list(docs), author, date_from, date_to), system.retriever.linker)
    except FilterError as exc:
        raise click.UsageError(str(exc)) from exc
    try:
        if system.answerer.streams and not as_json:
            ans = None
            for part in system.answerer.stream(question, top_k=top_k, mode=mode, filters=filters):
                if isinstance(part, str):
                    click.echo(part, nl=False)  # the model's words as they arrive
                else:
                    ans = part
            click.echo("\n\n（以下为核实后的回答与出处）\n")
        else:
            ans = system.answerer.ask(question, top_k=top_k, mode=mode, filters=filters)
    except QuestionError as exc:
        raise click.UsageError(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(ans.to_record(), ensure_ascii=False, indent=2))
    else:
        click.echo(ans.markdown())


@cli.command()
@click.argument("infile", type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(), help="Output file: .jsonl (batch interface), .csv, .xlsx or .docx."
)
@click.option("--column", help="Question column of a .csv/.xlsx (default: question/题目/问题).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def answer(ctx, infile: str, output: str, column: str | None, quiet: bool) -> None:
    """Answer a question list (.jsonl/.csv/.xlsx/.txt) into .jsonl/.csv/.xlsx/.docx.

    Multiple-choice and true/false items also get the chosen option, its text and a confidence
    (无法确定 when the corpus does not decide). Every row is answered or gets an error naming it;
    an unreadable input or unwritable output is refused in one line before any work.
    """
    from .batch import BatchError, answer_file, check_output, read_rows

    try:
        check_output(Path(output))
        rows = read_rows(Path(infile), column)
    except BatchError as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    system = _system(ctx)
    _ensure_index(ctx, quiet=True)
    try:
        stats = answer_file(system.answerer, Path(infile), Path(output), progress=not quiet, rows=rows)
    except (BatchError, OSError) as exc:
        click.echo(f"错误：{exc}", err=True)
        sys.exit(2)
    click.echo(
        f"rows {stats['rows']}: answered {stats['answered']}, refused {stats['refused']}, errors {stats['errors']} -> {output}"
    )


@cli.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="quiz.docx | .xlsx | .md | .json (not with --check)")
@click.option(
    "--check", "check", is_flag=True, help="Check quizzes of 5 seeds (--seed, --seed+1, …) item by item; print the share passing."
)
@click.option("--doc", "docs", multiple=True, help="Only these documents (file name or article title).")
@click.option("--topic", help="Only sentences/sections about this topic, e.g. 新质生产力.")
@click.option("--n", "n", type=int, default=20, show_default=True, help="Number of items.")
@click.option("--types", default="fill,choice,judge,short", show_default=True, help="Item types, comma-separated.")
@click.option("--seed", type=int, default=7, show_default=True, help="Same seed, same quiz.")
@click.option("--title", default="学习测试", show_default=True, help="Title printed on the paper.")
@click.option(
    "--writer",
    type=click.Choice(["rules", "llm"]),
    default="rules",
    show_default=True,
    help="llm: the configured chat model writes items, each checked against its passage (else rules).",
)
@click.pass_context
def quiz(ctx, output, check, docs, topic, n, types, seed, title, writer) -> None:
    """Generate a quiz with an answer key and citations (Word paper + separate answer sheet)."""
    from .exports import export
    from .quiz import QuizError, build_quiz

    if not check and not output:
        raise click.UsageError("需要 -o/--output（或用 --check 只做质量检查）")
    system = _system(ctx)
    _ensure_index(ctx, quiet=True)
    if check:
        from .quiz_check import check_seeds

        r = check_seeds(system, list(range(seed, seed + 5)), n, [t.strip() for t in types.split(",") if t.strip()])
        for s_, (ok, total) in r["per_seed"].items():
            click.echo(f"seed {s_}: {ok}/{total} items pass")
        for s_, item, problems in r["failures"]:
            click.echo(f"  FAIL seed {s_} [{item.type}] {item.question[:60]}: {'；'.join(problems)}")
        click.echo(f"quiz check: {r['passed']}/{r['items']} items pass ({r['share']:.1%}) over {len(r['per_seed'])} seeds")
        return
    try:
        stats: dict = {}
        items = build_quiz(
            system, n, tuple(t.strip() for t in types.split(",") if t.strip()), seed, list(docs) or None, topic, writer, stats
        )
        files = export(items, output, title)
    except (QuizError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"{len(items)} items -> {', '.join(map(str, files))}")
    if writer == "llm":
        click.echo(
            f"written by the model: {stats['llm_kept']}; failed the check (rule-built instead): "
            f"{stats['llm_dropped']}; model errors: {stats['llm_errors']}"
        )


@cli.command()
@click.pass_context
def docs(ctx) -> None:
    """List indexed documents with their chunk counts."""
    system = _system(ctx)
    records = system.store.file_records()
    if not records:
        click.echo("索引为空：请先运行 `rag ingest`。")
        return
    click.echo(f"{'文件 source':34} {'块 chunks':>9}  {'入库时间 ingested':19}  标题 title / 作者 authors")
    for rec in sorted(records.values(), key=lambda r: r.source):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.ingested_at))
        click.echo(f"{rec.source:34} {rec.chunks:>9}  {when}  {rec.title} / {rec.authors}")
    click.echo(f"共 {len(records)} 个文件，{system.store.count()} 个文本块")


@cli.command()
@click.pass_context
def chat(ctx) -> None:
    """Interactive question loop in the terminal (empty line or Ctrl-D quits)."""
    from .answer import QuestionError

    system = _system(ctx)
    _ensure_index(ctx)
    click.echo("学习助手：请输入问题（空行退出）。")
    while True:
        try:
            question = input("\n问> ").strip()
        except EOFError:
            break
        if not question:
            break
        try:
            click.echo(system.answerer.ask(question).markdown())
        except QuestionError as exc:
            click.echo(f"错误：{exc}")


@cli.command()
@click.option("--host", help="Bind address (default api.host: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default api.port: 8800).")
@click.pass_context
def serve(ctx, host: str | None, port: int | None) -> None:
    """Serve the knowledge base as an OpenAI-compatible API: GET /v1/models, POST /v1/chat/completions.

    The key is read from the environment variable named by api.key_env (default RAG_API_KEY);
    a non-loopback address is refused without one.
    """
    from .api import api_key, check_address
    from .api import serve as run
    from .preflight import StartupError

    settings = ctx.obj["settings"]
    s = settings.api
    host, port = host or s.host, port or s.port
    try:
        check_address(settings, host, port)
    except StartupError as exc:
        error = click.ClickException(str(exc))
        error.exit_code = 2
        raise error from exc
    system = _system(ctx)
    _ensure_index(ctx, quiet=True)
    click.echo(f"预热完成 warmed up in {system.warm_up():.1f} s", err=True)
    click.echo(
        f"学习助手 API: http://{host}:{port}/v1  model {s.model}  "
        + (f"key: ${s.key_env}" if api_key(settings) else "no key (loopback only)"),
        err=True,
    )
    run(system, host, port)


@cli.command()
@click.option("--questions", type=click.Path(exists=True, dir_okay=False), help="JSONL of questions (default: built-in set).")
@click.option("--scale", type=int, default=100, help="Size factor of the synthetic corpus.")
@click.option("--skip-ingest", is_flag=True, help="Skip the ingest timings (they embed the corpus twice).")
@click.pass_context
def bench(ctx, questions, scale, skip_ingest) -> None:
    """Print a benchmark table: ingest, embedding, retrieval and answer latency, memory."""
    from .bench import run_bench

    click.echo(run_bench(ctx.obj["settings"], questions, scale=scale, skip_ingest=skip_ingest))


@cli.command("eval")
@click.option(
    "--split",
    type=click.Choice(["dev", "test", "all"]),
    default="dev",
    show_default=True,
    help="Question split. Tune on dev; report test.",
)
@click.option(
    "--set",
    "qset",
    type=click.Choice(["all", "own", "external", "probe", "mc"]),
    default="all",
    show_default=True,
    help="Question set: ours (evals/questions.jsonl), the independent one (evals/external.jsonl), the "
    "study-group probes' (evals/probe.jsonl), or all three; "
    "mc: the multiple-choice set (evals/mc.jsonl), accuracy among answered and abstention.",
)
@click.option("--config", "configs", multiple=True, help="Configuration from evals/configs.yaml (repeatable).")
@click.option("--all-configs", is_flag=True, help="Run every offline configuration in evals/configs.yaml.")
@click.option("--configs-file", type=click.Path(exists=True, dir_okay=False), help="Another configurations file.")
@click.option("--judge", is_flag=True, help="Also score faithfulness with the configured chat model (llm.*) as judge.")
@click.option("--answers", type=click.Path(exists=True, dir_okay=False), help="Score a batch-format answers file instead.")
@click.option("--gate", type=click.Path(exists=True, dir_okay=False), help="Exit 1 when a metric misses its threshold.")
@click.option(
    "--out", type=click.Path(file_okay=False), default=None, help="Reports folder.  [default: the project's evals/reports]"
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_(ctx, split, qset, configs, all_configs, configs_file, judge, answers, gate, out, quiet) -> None:
    """Evaluate on the held-out question set and write evals/reports/<timestamp>/.

    A configuration with an llm section answers with that chat model (its key from the environment
    variable it names); --judge adds the LLM-judge faithfulness beside the offline one.
    """
    if qset == "mc":
        unsupported = [
            o
            for o, v in (
                ("--config", configs),
                ("--all-configs", all_configs),
                ("--configs-file", configs_file),
                ("--judge", judge),
                ("--answers", answers),
                ("--gate", gate),
            )
            if v
        ]
        if unsupported:
            raise click.UsageError(f"--set mc 不支持 {'、'.join(unsupported)}（选择题评测只有默认配置，结果见 summary.json）")
        return _eval_mc(ctx, split, Path(out) if out else ctx.obj["settings"].evals / "reports", quiet)
    from .evaluate import QUESTION_SETS, check_gate, evaluate, load_configs, sets_of_answers
    from .llm import LLMUnavailable, build_chat_model
    from .report import write_report

    evals = ctx.obj["settings"].evals
    out = out or evals / "reports"
    presets = load_configs(configs_file or evals / "configs.yaml")[1]
    names = [n for n, o in presets.items() if "llm" not in o] if all_configs else list(configs) or None
    model = None
    if judge:
        try:
            model = build_chat_model(ctx.obj["settings"].llm)
        except LLMUnavailable as exc:
            raise click.UsageError(f"--judge: {exc}") from exc
        if model is None:
            raise click.UsageError("--judge needs a chat model: set llm.provider (openai or ollama), llm.model and its key")
    sets = list(QUESTION_SETS) if qset == "all" else [qset]
    if answers and qset == "all":  # an answers file is scored on the set(s) its ids come from
        sets = sets_of_answers(Path(answers), evals) or sets
    runs = []
    try:
        for name in sets:
            runs.append(
                evaluate(
                    ctx.obj["settings"],
                    split,
                    names,
                    Path(answers) if answers else None,
                    progress=not quiet,
                    configs_path=configs_file,
                    judge=model,
                    qset=name,
                )
            )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    folder = write_report(runs, Path(out))
    for run in runs:
        for name, c in run.configs.items():
            s = c["summary"]
            click.echo(
                f"{run.qset}/{name}: recall@5 {s['recall@5']:.3f}  mrr@10 {s['mrr@10']:.3f}  key_recall {s['key_recall']:.3f}  "
                f"faithfulness {s['faithfulness'] or 0:.3f}  refusal_recall {s['refusal_recall'] or 0:.3f}  "
                f"false_refusal {s['false_refusal_rate'] or 0:.3f}"
                + (f"  llm_judge {s['llm_judge_faithfulness']:.3f}" if s.get("llm_judge_faithfulness") is not None else "")
                + (f"  fallback {s['fallback_rate']:.3f}" if s.get("fallback_rate") else "")
            )
    click.echo(f"report: {folder / 'report.md'}")
    if gate:
        failures = [f for run in runs for f in check_gate(run, Path(gate))]
        for f in failures:
            click.echo(f"GATE FAIL {f}", err=True)
        click.echo("gate: " + ("FAILED" if failures else "passed"))
        sys.exit(1 if failures else 0)


def _eval_mc(ctx, split: str, out: Path, quiet: bool) -> None:
    from .evaluate import config_settings
    from .mc_eval import evaluate_mc, write_mc_report
    from .system import build_system

    settings = ctx.obj["settings"]
    system = build_system(config_settings(settings, {}))  # the evaluation's own index of corpus/, not the app's
    system.ingestor.ingest([settings.corpus.path], prune=True, progress=False)
    summary, rows = evaluate_mc(system.retriever, split, settings.evals / "mc.jsonl", progress=not quiet)
    folder = write_mc_report(summary, rows, split, out)
    click.echo(
        f"mc/{split}: items {summary['items']}  accuracy(answered) {summary['accuracy']}  "
        f"abstention {summary['abstention']}  overall {summary['overall_accuracy']}  "
        f"answered low-confidence {summary['answered_low_confidence']}"
    )
    for kind, b in summary["by_kind"].items():
        click.echo(f"  {kind}: items {b['items']}  accuracy {b['accuracy']}  abstention {b['abstention']}")
    click.echo(f"report: {folder / 'summary.json'}")


@cli.command("fit")
@click.option(
    "--max-false-refusal",
    type=float,
    default=0.05,
    show_default=True,
    help="The dev false-refusal rate the threshold is chosen for.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where to write the model (JSON); default: the package's data/answer_model.json.",
)
@click.option(
    "--rerank",
    is_flag=True,
    help="Refit the passage reranker instead (default out: data/rerank_model.json; --max-false-refusal does not apply).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def fit_(ctx, max_false_refusal, out, rerank, quiet) -> None:
    """Refit the answerability model (or, with --rerank, the passage reranker) on the dev splits of
    evals/questions.jsonl and evals/external.jsonl."""
    from .evaluate import FIT_SETS, question_files
    from .fit import fit, fit_rerank

    settings = ctx.obj["settings"]
    files = question_files(settings.evals)
    if rerank:
        out = out or str(Path(__file__).parent / "data" / "rerank_model.json")
        model = fit_rerank(settings, [files[name] for name in FIT_SETS], Path(out), progress=not quiet)
        f = model["fitted"]
        click.echo(f"l2 {f['l2']}  held-out MRR@10 by l2 {f['held_out_mrr@10_by_l2']}")
        click.echo(f"dev MRR@10 of the pool: fused {f['fused_mrr@10']}  reranked {f['reranked_mrr@10']} (in sample)")
        click.echo(f"written: {out}")
        return
    out = out or str(Path(__file__).parent / "data" / "answer_model.json")
    model = fit(settings, [files[name] for name in FIT_SETS], Path(out), max_false_refusal, progress=not quiet)
    a = model["answerability"]
    click.echo(f"threshold {a['threshold']}  weights {a['weights']}  bias {a['bias']}")
    click.echo(f"dev: false refusal {a['fitted']['dev_false_refusal']}  refusal recall {a['fitted']['dev_refusal_recall']}")
    click.echo(f"written: {out}")


@cli.command()
@click.option("--topic", default="", help="Only passages about this topic, e.g. 未来产业 (judged as chat retrieves and answers).")
@click.option(
    "--question", default="", help="Answer a date-order question (……是从什么时候开始提出的 / 前后有什么变化) in date order."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="时间线.md | .docx | .png (else printed).")
@click.pass_context
def timeline(ctx, topic: str, question: str, output: str | None) -> None:
    """Timeline of dated passages (speech excerpts by occasion and date, dated articles)."""
    from .timeline import TimelineError, build_timeline, date_order_answer, export, to_markdown

    system = _system(ctx)
    _ensure_index(ctx, quiet=True)
    try:
        if question:
            click.echo(date_order_answer(system, question, topic or None).markdown())
            return
        tl = build_timeline(system, topic or None)
        if output:
            click.echo(f"{tl.summary()} -> {export(tl, output)}")
        else:
            click.echo(to_markdown(tl))
    except (TimelineError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc


@cli.command()
@click.argument("topic")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="汇编.docx | .md")
@click.option("--doc", "docs", multiple=True, help="Only these documents (file name or article title).")
@click.pass_context
def digest(ctx, topic: str, output: str, docs: tuple[str, ...]) -> None:
    """A topic digest (学习材料汇编): every passage about TOPIC, verbatim, grouped by document, cited."""
    from .digest import DigestError, build_digest, export

    if Path(output).suffix.lower() not in (".docx", ".md"):
        raise click.UsageError(f"不支持的输出格式 {Path(output).suffix or '（无扩展名）'}（支持 .docx、.md）")
    system = _system(ctx)
    _ensure_index(ctx, quiet=True)
    try:
        d = build_digest(system, topic, list(docs) or None)
        click.echo(f"{d.summary()} -> {export(d, output)}")
    except (DigestError, ValueError) as exc:
        raise click.UsageError(str(exc)) from exc


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
