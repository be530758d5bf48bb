"""INT8 precision pass: calibrated Q/DQ ONNX from onnxruntime.quantization, in the target's form.

TensorRT needs symmetric int8 activations and weights (zero point 0) and float biases;
ONNX Runtime on x86 also runs asymmetric uint8 activations with int8 weights, often faster
(see qdq_choice.py). Weights are quantized per output channel. The logit output stays
float: one more 8-bit rounding of the very value the threshold is applied to would only
add label flips, for no speed.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from hcd_edge.builders.patches import DecodedSet, decode_all
from hcd_edge.builders.request import MIN_CALIB_PATCHES, CalibMethod
from hcd_edge.errors import DataError, EngineError
from hcd_edge.spec import OUTPUT_NAME, PreprocessSpec

CALIB_TASK = "calibrating"
DECODE_TASK = "decoding calibration patches"


@dataclass(frozen=True)
class QdqForm:
    """The Q/DQ form of an INT8 graph."""

    activations: str  # "int8" | "uint8"
    activation_symmetric: bool
    weights: str = "int8"
    weight_symmetric: bool = True
    per_channel: bool = True
    quantize_bias: bool = False  # TensorRT takes float biases; ORT folds them either way
    reduce_range: bool = False  # 7-bit weights: see u8s8_saturates

    @property
    def label(self) -> str:
        """Short name: 'u8s8' (uint8 activations, int8 weights) or 's8s8'."""
        return f"{'u8' if self.activations == 'uint8' else 's8'}s8"

    def to_dict(self) -> dict:
        """JSON-ready description for manifests."""
        return {"format": "QDQ", "label": self.label, **asdict(self)}


SYMMETRIC_INT8 = QdqForm(activations="int8", activation_symmetric=True)
UINT8_ACTIVATIONS = QdqForm(activations="uint8", activation_symmetric=False)
VNNI_FEATURES = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def u8s8_saturates(cpu: dict) -> bool:
    """True on an x86 CPU without VNNI (describe_cpu()'s dict): there ONNX Runtime's u8s8
    kernels add pairs of uint8 x int8 products in int16 (vpmaddubsw), which saturates, and an
    INT8 engine loses accuracy (the tiny test model: AUC 0.907 -> 0.900 on an AVX2-only EPYC).
    Symmetric int8 activations are shifted to uint8 for the same kernels and saturate too (the
    starter model on generated patches: label agreement with FP32 82% instead of 98.8%).
    ONNX Runtime's documented remedy is 7-bit weights (reduce_range), which cannot saturate."""
    x86 = str(cpu.get("arch", "")).lower() in ("x86_64", "amd64", "i686", "x86")
    return x86 and not VNNI_FEATURES & set(cpu.get("features", ()))


def for_this_cpu(form: QdqForm, cpu: dict) -> QdqForm:
    """The form with 7-bit weights where its products would saturate on this CPU."""
    if u8s8_saturates(cpu):
        return replace(form, reduce_range=True)
    return form


@dataclass
class Calibration:
    """Decoded calibration patches and their summary."""

    data: DecodedSet
    summary: dict


def load_calibration(
    refs,
    spec: PreprocessSpec,
    source: str,
    method: CalibMethod,
    requested: int,
    threads: int | None,
    progress,
) -> Calibration:
    """Decode the calibration patches; DataError when fewer than MIN_CALIB_PATCHES are readable."""
    if not refs:
        raise DataError(
            "INT8 needs calibration patches: give --calib PATH (a folder of patches, "
            "the Kaggle layout, class folders 0/ 1/, or a list of paths)"
        )
    data = decode_all(refs, spec, threads, progress, DECODE_TASK)
    if data.count < MIN_CALIB_PATCHES:
        raise DataError(
            f"calibration needs at least {MIN_CALIB_PATCHES} readable patches; {source} gave "
            f"{data.count} of {len(refs)} tried ({len(data.skipped)} unreadable"
            f"{', e.g. ' + data.skipped[0] if data.skipped else ''}); give more patches with --calib"
        )
    summary = {
        "count": data.count,
        "requested": requested,
        "tried": len(refs),
        "skipped": len(data.skipped),
        "skipped_examples": data.skipped[:5],
        "source": source,
        "method": method.value,
    }
    return Calibration(data=data, summary=summary)


def quantize(
    src: Path,
    dst: Path,
    inputs: np.ndarray,
    form: QdqForm,
    method: CalibMethod,
    progress,
    task: str = CALIB_TASK,
) -> float:
    """Write the calibrated Q/DQ model of src to dst; returns the seconds calibration took."""
    from onnxruntime.quantization import QuantFormat, quantize_static

    from hcd_edge.builders.passes.calib_reader import PatchCalibrationReader

    reader = PatchCalibrationReader(inputs, progress, task)
    start = time.perf_counter()
    progress.start(task, len(inputs))
    try:
        with _quiet_ort_quantization():
            quantize_static(
                str(src),
                str(dst),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=form.per_channel,
                activation_type=_quant_type(form.activations),
                weight_type=_quant_type(form.weights),
                calibrate_method=_ort_method(method),
                reduce_range=form.reduce_range,
                extra_options=_extra_options(form),
            )
    except (ValueError, RuntimeError) as exc:  # ORT raises these for graphs it cannot quantize
        raise EngineError(f"onnxruntime.quantization could not quantize {src}: {exc}") from exc
    finally:
        progress.finish(task)
    keep_output_float(dst)
    return time.perf_counter() - start


def keep_output_float(path: Path) -> bool:
    """Remove the Q/DQ pair on the logit output, if any; True when the model changed."""
    import onnx

    model = onnx.load(str(path))
    producers = {out: node for node in model.graph.node for out in node.output}
    dq = producers.get(OUTPUT_NAME)
    q = producers.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" else None
    if q is None or q.op_type != "QuantizeLinear":
        return False
    x = q.input[0]
    for node in model.graph.node:
        node.output[:] = [OUTPUT_NAME if o == x else o for o in node.output]
        node.input[:] = [OUTPUT_NAME if i == x else i for i in node.input]
    model.graph.node.remove(q)
    model.graph.node.remove(dq)
    _drop_unused_initializers(model)
    onnx.save(model, str(path))
    return True


def _drop_unused_initializers(model) -> None:
    used = {name for node in model.graph.node for name in node.input}
    unused = [init for init in model.graph.initializer if init.name not in used]
    for init in unused:
        model.graph.initializer.remove(init)


def _extra_options(form: QdqForm) -> dict:
    return {
        "ActivationSymmetric": form.activation_symmetric,
        "WeightSymmetric": form.weight_symmetric,
        "QuantizeBias": form.quantize_bias,
        # One batch per calibration stride keeps memory at one batch of activations for every
        # method (the histogram calibrators otherwise hold all of them until the end).
        "CalibStridedMinMax": 1,
    }


def _quant_type(name: str):
    from onnxruntime.quantization import QuantType

    return {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}[name]


def _ort_method(method: CalibMethod):
    from onnxruntime.quantization import CalibrationMethod

    return {
        CalibMethod.MINMAX: CalibrationMethod.MinMax,
        CalibMethod.ENTROPY: CalibrationMethod.Entropy,
        CalibMethod.PERCENTILE: CalibrationMethod.Percentile,
    }[method]


class _quiet_ort_quantization:
    """Silence onnxruntime.quantization's 'consider pre-processing' warnings during a call."""

    def __enter__(self) -> None:
        self._root = logging.getLogger()
        self._level = self._root.level
        self._root.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._root.setLevel(self._level)
