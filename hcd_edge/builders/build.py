"""The build orchestration: source -> precision pass -> compile -> manifest -> parity gate -> rename."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hcd_edge.atomic import write_text_atomic
from hcd_edge.backends.base import Backend, CompileJob, EngineFiles
from hcd_edge.builders.assemble import make_manifest
from hcd_edge.builders.backend_plan import BackendPlan, resolve_backend
from hcd_edge.builders.model_check import check_model_io
from hcd_edge.builders.parity import DEFAULT_THRESHOLDS, describe, evaluate, score_both
from hcd_edge.builders.patches import PatchPlan, plan_patches, recipe, redraw_validation
from hcd_edge.builders.portable import PortableInfo
from hcd_edge.builders.request import (
    DEFAULT_WORKSPACE_MB,
    MIN_VAL_PATCHES,
    ActivationForm,
    BuildRequest,
    BuildResult,
    CalibMethod,
    Stage,
    default_out_dir,
)
from hcd_edge.builders.source import SourceModel, check_precision, load_source
from hcd_edge.builders.staging import Staging, check_output_free, failed_report_path
from hcd_edge.builders.timing import time_interleaved
from hcd_edge.device_info import describe_cpu
from hcd_edge.errors import DataError, EngineError, ModelError, ParityGateError
from hcd_edge.manifest import BatchProfile, Manifest, sha256_file, write_manifest
from hcd_edge.model_info import write_props
from hcd_edge.progress import ProgressReporter, SilentProgress
from hcd_edge.spec import Precision


@dataclass
class _Job:
    """One build in progress: the request resolved, and where its files go."""

    request: BuildRequest
    precision: Precision
    source: SourceModel
    plan: BackendPlan
    out: Path
    progress: ProgressReporter
    folder: Path = Path(".")  # the engine folder being built (staged beside out)
    work: Path = Path(".")  # intermediate files (removed unless --keep-work)
    notes: list[str] = field(default_factory=list)
    retried_for_accuracy: bool = False  # rebuilt with uint8 activations after the gate failed

    def note(self, message: str) -> None:
        """Keep the message for the result and show it now."""
        self.notes.append(message)
        self.progress.note(message)


@dataclass
class _PrecisionModel:
    """The ONNX that carries the build's precision, and how it was made."""

    path: Path
    quantization: dict | None = None
    calibration: dict | None = None


def build_engine(request: BuildRequest, progress: ProgressReporter | None = None) -> BuildResult:
    """Build the engine folder (or portable precision ONNX) a request describes; see BuildResult.

    Raises ModelError / DataError / EngineError for bad input, BackendUnavailable for a missing
    stack, ParityGateError when the engine disagrees with the FP32 reference; in every case
    nothing is left at the output path.
    """
    job = _prepare(request, progress or SilentProgress())
    patches = _plan_patches(job)
    staging = Staging(job.out, request.force)
    with staging as folder, _work_folder(job) as work:
        job.folder, job.work = folder, work
        manifest = _build_and_gate(job, patches)
        staging.commit()
    return BuildResult(
        engine_dir=job.out,
        manifest=manifest,
        engine_path=job.out / manifest.engine_file,
        notes=job.notes,
        next_step=_next_step(job, manifest),
    )


def _build_and_gate(job: _Job, patches: PatchPlan) -> Manifest:
    """Precision pass, compile, manifest, parity gate; once more with uint8 activations when the
    symmetric form was chosen for speed and failed the gate (the more accurate form after ReLU)."""
    model = _precision_pass(job, patches)
    files = _compile(job, model)
    manifest = _assemble(job, model, files)
    try:
        _parity_gate(job, model, manifest, patches)
    except ParityGateError as failure:
        if not _may_retry_uint8(job, model):
            raise
        job.note(f"symmetric int8 activations, chosen for speed, failed the parity gate ({failure.args[0]}); "
                 "building with uint8 activations, the more accurate form")
        failed_report_path(job.out).unlink(missing_ok=True)
        for item in job.folder.iterdir():  # the staged engine of the failed form
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink()
        job.request = dataclasses.replace(job.request, activation_form=ActivationForm.UINT8.value)
        job.retried_for_accuracy = True
        return _build_and_gate(job, patches)
    return manifest


def _may_retry_uint8(job: _Job, model: _PrecisionModel) -> bool:
    """True for an auto-chosen symmetric INT8 build that has not been retried yet."""
    chosen = (model.quantization or {}).get("choice", {}).get("chosen")
    return (job.precision is Precision.INT8 and chosen == "int8" and job.request.gate
            and not job.retried_for_accuracy
            and ActivationForm(job.request.activation_form) is ActivationForm.AUTO)


def _prepare(request: BuildRequest, progress: ProgressReporter) -> _Job:
    precision = Precision(request.precision)
    source = load_source(Path(request.onnx), request.mean, request.std)
    check_model_io(source.path, source.info.spec)
    check_precision(source, precision)
    plan = resolve_backend(request)
    if precision is Precision.INT8:
        _check_form(source, plan, request)
    out = (
        Path(request.out)
        if request.out
        else default_out_dir(source.name, precision, _out_name(plan), plan.stage)
    )
    check_output_free(out, request.force)  # before any slow step
    job = _Job(
        request=request, precision=precision, source=source, plan=plan, out=out, progress=progress
    )
    if plan.note:
        job.note(plan.note)
    if plan.deferred_reason:
        job.note(
            f"{plan.backend.title} cannot build here: {plan.deferred_reason}; writing the portable "
            f"{precision.value} ONNX for {plan.backend.title} instead (--stage onnx)"
        )
    return job


def _check_form(source: SourceModel, plan: BackendPlan, request: BuildRequest) -> None:
    title = plan.backend.title
    if plan.backend.symmetric_int8_only and request.activation_form == ActivationForm.UINT8.value:
        raise EngineError(f"{title} needs symmetric int8 activations; drop --activation-form uint8")
    quantization = source.portable.quantization if source.portable else None
    if (
        plan.backend.symmetric_int8_only
        and quantization
        and not quantization.get("activation_symmetric", True)
    ):
        raise ModelError(
            f"{source.path} was quantized for ONNX Runtime (uint8 activations); {title} needs the "
            f"symmetric int8 form: run build-engine on the FP32 model with --backend "
            f"{plan.backend.name} --stage onnx"
        )


def _plan_patches(job: _Job) -> PatchPlan:
    request = job.request
    needs_calibration = job.precision is Precision.INT8 and not job.source.prequantized
    if needs_calibration and request.calib is None:
        raise DataError(
            "INT8 needs calibration patches: give --calib PATH (a folder of patches, the "
            "Kaggle layout, class folders 0/ and 1/, or a list of paths)"
        )
    patches = plan_patches(request.calib, request.val, request.calib_n, request.val_n)
    if not patches.val_refs and job.source.portable is not None:
        redrawn = redraw_validation(job.source.portable.validation)
        if redrawn is not None:
            patches = dataclasses.replace(
                redrawn, calib_refs=patches.calib_refs, calib_source=patches.calib_source
            )
    return patches


def _precision_pass(job: _Job, patches: PatchPlan) -> _PrecisionModel:
    source = job.source
    if source.portable is not None:
        calibration = dict(
            source.portable.calibration or {}, reused_from=str(source.path.resolve())
        )
        return _PrecisionModel(source.path, source.portable.quantization, calibration)
    if source.external_qdq:
        return _PrecisionModel(
            source.path, {"format": "QDQ", "label": "external (not made by hcd-edge)"}
        )
    if job.precision is Precision.FP32:
        return _PrecisionModel(source.path)
    if job.precision is Precision.FP16:
        return _fp16_pass(job)
    return _int8_pass(job, patches)


def _fp16_pass(job: _Job) -> _PrecisionModel:
    from hcd_edge.builders.passes.fp16 import convert_fp16

    dst = job.work / "fp16.onnx"
    job.progress.note("converting to FP16 (float32 input and output kept)…")
    convert_fp16(job.source.path, dst)
    return _PrecisionModel(
        dst, {"format": "fp16", "io_types": "float32", "converter": "onnxconverter-common"}
    )


def _int8_pass(job: _Job, patches: PatchPlan) -> _PrecisionModel:
    from hcd_edge.backends.onnxruntime.compile import onnxruntime_version
    from hcd_edge.builders.passes.int8 import load_calibration, quantize
    from hcd_edge.builders.passes.preprocess import prepare_for_quantization

    request, spec = job.request, job.source.info.spec
    method = CalibMethod(request.calib_method)
    calib = load_calibration(
        patches.calib_refs,
        spec,
        patches.calib_source,
        method,
        request.calib_n,
        request.threads,
        job.progress,
    )
    if calib.data.skipped:
        job.note(
            f"skipped {len(calib.data.skipped)} unreadable calibration files, e.g. {calib.data.skipped[0]}"
        )
    prepared = job.work / "prepared.onnx"
    prep = prepare_for_quantization(job.source.path, prepared)
    form, choice = _activation_form(job, prepared, calib.data.inputs)
    job.progress.note(
        f"calibrating on {calib.data.count} patches ({method.value}, {form.label} Q/DQ)…"
    )
    dst = job.work / "int8.onnx"
    seconds = quantize(prepared, dst, calib.data.inputs, form, method, job.progress)
    quantization = {
        **form.to_dict(),
        "target": job.plan.backend.name,
        "choice": choice,
        **prep,
        "output": "float (logit not quantized)",
        "onnxruntime": onnxruntime_version(),
    }
    return _PrecisionModel(dst, quantization, dict(calib.summary, seconds=round(seconds, 2)))


def _activation_form(job: _Job, prepared: Path, inputs):
    from hcd_edge.builders.passes.int8 import for_this_cpu

    form, choice = _chosen_form(job, prepared, inputs)
    if job.plan.backend.device_kind != "cpu":
        return form, choice
    fitted = for_this_cpu(form, describe_cpu())
    if fitted != form:
        job.note("this CPU has no VNNI: uint8 x int8 products would saturate in int16, so the "
                 "weights are quantized to 7 bits (ONNX Runtime's reduce_range)")
    return fitted, choice


def _chosen_form(job: _Job, prepared: Path, inputs):
    from hcd_edge.builders.passes.int8 import SYMMETRIC_INT8, UINT8_ACTIVATIONS
    from hcd_edge.builders.passes.qdq_choice import choose_activation_form

    if job.plan.backend.symmetric_int8_only:
        rule = f"{job.plan.backend.title} requires symmetric int8 activations and weights"
        return SYMMETRIC_INT8, {"rule": rule}
    wanted = ActivationForm(job.request.activation_form)
    if job.retried_for_accuracy:
        return UINT8_ACTIVATIONS, {"rule": "symmetric int8 activations (chosen for speed) failed the "
                                           "parity gate: uint8 activations", "chosen": "uint8"}
    if wanted is not ActivationForm.AUTO:
        form = UINT8_ACTIVATIONS if wanted is ActivationForm.UINT8 else SYMMETRIC_INT8
        return form, {"rule": f"--activation-form {wanted.value}"}
    form, choice = choose_activation_form(
        prepared, job.work, inputs, job.request.batch.opt, job.request.threads, job.progress
    )
    rates = choice["measured_patches_per_s"]
    job.note(
        f"Q/DQ form for ONNX Runtime here: {form.label} (uint8 {rates['uint8']}/s, "
        f"symmetric int8 {rates['int8']}/s at batch {choice['timing_batch']})"
    )
    return form, choice


def _compile(job: _Job, model: _PrecisionModel) -> EngineFiles:
    if job.plan.stage is Stage.ONNX:
        return _write_portable(job, model)
    if len(job.plan.candidates) > 1:
        return _compile_fastest(job, model)
    return job.plan.backend.compile(_compile_job(job, model, job.folder))


def _compile_job(job: _Job, model: _PrecisionModel, folder: Path) -> CompileJob:
    return CompileJob(
        model=model.path, folder=folder, work=job.work, spec=job.source.info.spec,
        precision=job.precision, request=job.request, device=job.plan.gpu, progress=job.progress,
    )


def _compile_fastest(job: _Job, model: _PrecisionModel) -> EngineFiles:
    """auto on a CPU with several backends: compile for each, time them, keep the fastest."""
    from hcd_edge.backends.engine_folder import EngineFolder

    compiled: dict[str, tuple[Backend, Path, EngineFiles]] = {}
    for backend in job.plan.candidates:
        folder = job.work / f"candidate-{backend.name}"
        folder.mkdir()
        files = backend.compile(_compile_job(job, model, folder))
        _assemble_in(job, model, files, folder)
        compiled[backend.name] = (backend, folder, files)
    batch = min(job.request.batch.opt, 64)
    inputs = np.zeros(job.source.info.spec.input_shape(batch), job.source.info.spec.numpy_dtype)
    executors = {
        name: EngineFolder.open(folder).executor(threads=job.request.threads)
        for name, (_, folder, _) in compiled.items()
    }
    try:
        job.progress.note(f"timing {', '.join(executors)} on batches of {batch}…")
        runs = {name: _infer_runner(ex, inputs) for name, ex in executors.items()}
        rates = time_interleaved(runs, batch)
    finally:
        for executor in executors.values():
            executor.close()
    chosen = max(rates, key=rates.__getitem__)
    backend, folder, files = compiled[chosen]
    shutil.move(str(folder / files.engine_file), str(job.folder / files.engine_file))
    job.plan = BackendPlan(backend, job.plan.stage, job.plan.gpu)
    summary = ", ".join(f"{name} {rate:,.0f}/s" for name, rate in rates.items())
    job.note(f"backend auto: {backend.title} is the fastest here ({summary} at batch {batch})")
    choice = {
        "measured_patches_per_s": {k: round(v, 1) for k, v in rates.items()},
        "timing_batch": batch,
        "threads": job.request.threads,
        "rule": "auto on a CPU: the fastest usable backend on the precision ONNX",
        "chosen": chosen,
    }
    return EngineFiles(files.engine_file, files.backend, files.backend_version, files.device,
                       {**files.build_options, "auto_choice": choice})


def _infer_runner(executor, inputs: np.ndarray):
    return lambda: executor.infer(inputs)


def _write_portable(job: _Job, model: _PrecisionModel) -> EngineFiles:
    from hcd_edge.backends.onnxruntime.compile import onnxruntime_version

    name = f"{job.source.name}-{job.precision.value}.onnx"
    shutil.copyfile(model.path, job.folder / name)
    _write_portable_props(job, model, job.folder / name, parity=None)
    device = {
        "kind": "portable",
        "target_backend": job.plan.backend.name,
        "prepared_on": describe_cpu(),
    }
    options = {
        "stage": Stage.ONNX.value,
        "target_backend": job.plan.backend.name,
        "parity_measured_with": f"onnxruntime {onnxruntime_version()} (CPU)",
    }
    return EngineFiles(name, job.plan.backend.name, "n/a (portable ONNX)", device, options)


def _write_portable_props(
    job: _Job, model: _PrecisionModel, path: Path, parity: dict | None
) -> None:
    import onnx

    proto = onnx.load(str(path))
    source = {
        "path": str(job.source.path.resolve()),
        "sha256": job.source.sha256,
        "name": job.source.name,
    }
    info = PortableInfo(
        precision=job.precision,
        target_backend=job.plan.backend.name,
        source=source,
        quantization=model.quantization,
        calibration=model.calibration,
        parity=parity,
        validation=recipe(job.request.calib, job.request.val, job.request.calib_n, job.request.val_n),
    )
    write_props(proto, {**job.source.info.to_props(), **info.to_props()})
    onnx.save(proto, str(path))


def _assemble(job: _Job, model: _PrecisionModel, files: EngineFiles) -> Manifest:
    return _assemble_in(job, model, files, job.folder)


def _assemble_in(job: _Job, model: _PrecisionModel, files: EngineFiles, folder: Path) -> Manifest:
    manifest = make_manifest(
        name=job.out.name,
        folder=folder,
        files=files,
        precision=job.precision,
        stage=job.plan.stage.value,
        source_path=job.source.path,
        source_sha256=job.source.sha256,
        info=job.source.info,
        batch=job.request.batch,
        quantization=model.quantization,
        calibration=model.calibration,
    )
    write_manifest(folder, manifest)
    return manifest


def _parity_gate(job: _Job, model: _PrecisionModel, manifest: Manifest, patches: PatchPlan) -> None:
    report = _measure_parity(job, patches)
    manifest.parity = report
    if job.plan.stage is Stage.ONNX:
        engine = job.folder / manifest.engine_file
        _write_portable_props(job, model, engine, parity=report)
        manifest.engine_sha256 = sha256_file(engine)
    write_manifest(job.folder, manifest)
    if report.get("passed", True) or not job.request.gate:
        if "n" in report:
            job.note(
                f"parity vs {report['reference']}: {describe(report)}"
                + ("" if report["passed"] else " — OUT OF BOUNDS, kept because of --no-gate")
            )
        return
    failed = failed_report_path(job.out)
    write_text_atomic(failed, json.dumps(manifest.to_dict(), indent=2, sort_keys=True) + "\n")
    raise ParityGateError(
        f"parity gate failed for the {job.precision.value} {job.plan.backend.name} build of "
        f"{job.source.path}: {'; '.join(report['failures'])} ({describe(report)}, validation: "
        f"{report['val_source']}). Nothing was written to {job.out}; the full report is in {failed}. "
        "Try more or other calibration patches (--calib, --calib-n, --calib-method entropy|percentile), "
        "lower --min-agreement if the flipped patches sit near the threshold, "
        "or keep the engine anyway with --no-gate."
    )


def _measure_parity(job: _Job, patches: PatchPlan) -> dict:
    from hcd_edge.backends.engine_folder import open_executor
    from hcd_edge.backends.onnxruntime.executor import OrtExecutor

    request, spec = job.request, job.source.info.spec
    if not patches.val_refs:
        return _no_validation(job)
    reference, label = _reference_model(job)
    limits = request.thresholds or DEFAULT_THRESHOLDS[job.precision]
    job.progress.note(f"parity check on {len(patches.val_refs)} patches ({patches.val_source})…")
    with (
        OrtExecutor(reference, spec, max_batch=request.batch.max, threads=request.threads) as ref,
        open_executor(job.folder, threads=request.threads, allow_portable=True) as engine,
    ):
        p_ref, p_eng, kept, unreadable = score_both(
            ref,
            engine,
            patches.val_refs,
            spec,
            request.threads,
            job.progress,
            min_batch=request.batch.min,
        )
    if len(kept) < MIN_VAL_PATCHES:
        raise DataError(
            f"the parity check needs at least {MIN_VAL_PATCHES} readable validation patches; "
            f"{patches.val_source} gave {len(kept)} ({unreadable} unreadable); give --val PATH"
        )
    labels = None if patches.val_labels is None else patches.val_labels[kept]
    report = evaluate(p_ref, p_eng, labels, job.source.info.threshold, limits)
    report.update(
        reference=label, val_source=patches.val_source, unreadable=unreadable, gated=request.gate
    )
    if job.source.portable is not None and job.source.portable.parity:
        report["portable_parity"] = job.source.portable.parity
    return report


def _no_validation(job: _Job) -> dict:
    if job.request.gate and job.precision is not Precision.FP32:
        raise DataError(
            f"the parity gate of this {job.precision.value} build needs validation patches: give --val PATH "
            "(or --calib PATH, part of which is then held back), or build with --no-gate"
        )
    job.note("no validation patches: parity not measured (give --val PATH to measure it)")
    return {"skipped": "no validation patches", "passed": True, "gated": False}


def _reference_model(job: _Job) -> tuple[Path, str]:
    source = job.source
    if not source.prequantized:
        return source.path, "the FP32 source ONNX in onnxruntime"
    recorded = source.portable.source if source.portable else {}
    fp32 = Path(recorded.get("path", "")) if recorded.get("path") else None
    if fp32 is not None and fp32.is_file() and sha256_file(fp32) == recorded.get("sha256"):
        return fp32, "the FP32 source ONNX in onnxruntime"
    kind = f"portable {job.precision.value}" if source.portable else "Q/DQ"
    return source.path, f"the {kind} ONNX itself in onnxruntime (its FP32 source is not here)"


def _next_step(job: _Job, manifest: Manifest) -> str | None:
    if job.plan.stage is not Stage.ONNX:
        return None
    request = job.request
    command = (
        f"hcd-edge build-engine {job.out / manifest.engine_file} --backend {job.plan.backend.name} "
        f"--precision {job.precision.value}"
    )
    if request.val is not None:
        command += f" --val {request.val}"
    if request.batch != BatchProfile():
        command += f" --batch {request.batch.min}:{request.batch.opt}:{request.batch.max}"
    if request.workspace_mb != DEFAULT_WORKSPACE_MB:
        command += f" --workspace-mb {request.workspace_mb}"
    return command


def _out_name(plan: BackendPlan) -> str:
    """The backend part of the default engine folder name ("cpu" while auto has to measure)."""
    return "cpu" if len(plan.candidates) > 1 else plan.backend.name


@contextlib.contextmanager
def _work_folder(job: _Job) -> Iterator[Path]:
    """A scratch folder for intermediate ONNX files: temporary, or <out>.work/ with --keep-work."""
    if not job.request.keep_work:
        with tempfile.TemporaryDirectory(prefix=f".{job.out.name}.work-", dir=job.out.parent) as tmp:
            yield Path(tmp)
        return
    kept = job.out.parent / f"{job.out.name}.work"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    yield kept
    job.note(f"intermediate files kept in {kept}")
