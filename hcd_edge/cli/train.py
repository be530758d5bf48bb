"""`hcd-edge train`: train a model on labelled patches into a run folder (needs hcd-edge[train])."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from hcd_edge.cli.errors import library_errors
from hcd_edge.cli.options import IntListType, threads_option
from hcd_edge.errors import TrainingUnavailable

MODELS = ["hcdnet", "cnn", "resnet50"]


def load_train_package():
    """hcd_edge.train, or TrainingUnavailable saying how to install PyTorch."""
    try:
        import hcd_edge.train as train_package
    except ImportError as exc:
        raise TrainingUnavailable(
            f"training needs PyTorch, which is not importable here ({exc}); "
            "install it with: pip install 'hcd-edge[train]'"
        ) from exc
    return train_package


@click.command("train", short_help="Train a model on labelled patches (needs hcd-edge[train]).")
@click.option("--data", type=click.Path(path_type=Path), required=True, multiple=True,
              help="Labelled patches: a Kaggle folder (train/ + train_labels.csv), class folders 0/ 1/, "
              "or a folder of PCam camelyonpatch_level_2_split_*_{x,y}.h5 files. Repeat it, or give a "
              ".txt list of folders (one a line), to train on several sets together; a patch id may "
              "appear in only one of them.")
@click.option("--model", type=click.Choice(MODELS), default="hcdnet", show_default=True,
              help="hcdnet: small edge model; cnn: the seed three-block CNN; resnet50: ImageNet fine-tune.")
@click.option("--epochs", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Run folder, e.g. runs/NAME.")
@click.option("--batch-size", type=click.IntRange(min=2), default=64, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=2e-3, show_default=True,
              help="Peak (onecycle) or initial (plateau) learning rate.")
@click.option("--weight-decay", type=click.FloatRange(min=0), default=1e-4, show_default=True)
@click.option("--schedule", type=click.Choice(["onecycle", "plateau"]), default="onecycle", show_default=True)
@click.option("--patience", type=click.IntRange(min=0), default=None,
              help="Stop after this many epochs without a better validation AUC (0: never). "
              "Default: 0 with onecycle (its best epochs come as it anneals), 5 with plateau.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the split, the initial weights and every epoch.")
@click.option("--val-fraction", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.2,
              show_default=True)
@click.option("--holdout", type=click.IntRange(min=0), default=0, show_default=True,
              help="Set this many patches (stratified, seeded) aside before the split: never trained on, "
              "never used to pick the epoch or threshold; scored at the end into metrics.json.")
@click.option("--holdout-from", type=click.Path(path_type=Path), default=None,
              help="Draw the holdout from this one of the --data folders only.")
@click.option("--split", type=click.Choice(["stratified", "random"]), default="stratified", show_default=True)
@click.option("--balance", type=click.Choice(["none", "class-weights", "undersample"]), default="none",
              show_default=True)
@click.option("--no-augment", is_flag=True, help="No dihedral, colour or shift augmentation.")
@click.option("--shift", type=click.IntRange(0, 16), default=0, show_default=True,
              help="Also translate patches randomly by up to this many pixels.")
@click.option("--hed", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="HED stain augmentation: scale each stain's density by 1 + U(-h, h) (e.g. 0.05); 0: off.")
@click.option("--label-smoothing", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Train against y * (1 - s) + s / 2 instead of 0/1 labels.")
@click.option("--teacher", type=click.Path(path_type=Path, dir_okay=False), multiple=True,
              help="Distil from this ONNX model (repeat it for an ensemble): the target becomes "
              "(1 - w) * label + w * the teachers' mean 8-view TTA probability. Use teachers trained "
              "on the same split (same --data, --seed, --holdout, --val-fraction), or the holdout "
              "figures will be optimistic.")
@click.option("--distill-weight", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="w above: the weight of the teacher's probability in the target (with --teacher).")
@click.option("--widths", type=IntListType(), default=None,
              help="Stage widths. Default: hcdnet 24,48,96,192; cnn 32,64,128.")
@click.option("--block", type=click.Choice(["plain", "separable"]), default="plain", show_default=True,
              help="hcdnet: depthwise-separable or plain 3x3 blocks.")
@click.option("--pool", type=click.Choice(["centre", "global"]), default="centre", show_default=True,
              help="hcdnet: global + centre-third pooling, or global only.")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=0.3, show_default=True)
@click.option("--weights", type=click.Path(path_type=Path), default=None,
              help="resnet50: local ImageNet state_dict file (else torchvision downloads it).")
@click.option("--head-epochs", type=click.IntRange(min=0), default=1, show_default=True,
              help="resnet50: epochs with the backbone frozen before the top layers unfreeze.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Use only the first N patches.")
@click.option("--ema", type=click.FloatRange(0, 1, max_open=True), default=0.0, show_default=True,
              help="Validate and keep a moving average of the weights with this decay (e.g. 0.998); 0: off.")
@click.option("--tta", is_flag=True, help="Also report validation AUC averaged over the 8 dihedral views.")
@click.option("--data-name", default="", help="Name and licence of the data, kept in the model's provenance.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last.pt. On the CPU "
              "it ends where an uninterrupted run would; on CUDA only approximately (some GPU "
              "kernels have no deterministic form). A different --epochs refits the one-cycle "
              "schedule from the step reached (to end sooner on a busy machine).")
@click.option("--force", is_flag=True, help="Overwrite a non-empty --out.")
@threads_option
def train(**options) -> None:
    """Train a model on labelled patches; writes best.pt, last.pt, metrics and plots to --out."""
    with library_errors():
        pkg = load_train_package()
        from hcd_edge.train.progress import ConsoleProgress

        resume, force = options.pop("resume"), options.pop("force")
        result = pkg.train(_config(pkg, options), ConsoleProgress(), resume=resume, overwrite=force)
    m = result.metrics
    click.echo(f"validation AUC {m['auc']:.4f} on {count_text(m.get('n'))} patches of the run's "
               f"validation split ({result.out / 'split'}), accuracy {m['accuracy']:.4f} at threshold "
               f"{m['threshold']:.3f} (best epoch {m['best_epoch']}); wrote {result.best}, "
               f"{result.out / 'metrics.json'} and {result.out / 'plots'}")
    if "holdout" in m:
        h = m["holdout"]
        tta = f", {h['auc_tta']:.4f} with TTA" if "auc_tta" in h else ""
        click.echo(f"holdout AUC {h['auc']:.4f}{tta} over {h['n']} untouched patches "
                   f"(lists in {result.out / 'split'})")
    click.echo(f"next: {export_hint(result.out)}")


def count_text(n: object) -> str:
    """n with thousands separators, or '?' when a record lacks it."""
    return f"{n:,}" if isinstance(n, int) else "?"


def export_hint(run: Path) -> str:
    """The export command for a run folder (the README's workflow uses the same paths)."""
    return f"hcd-edge export {Path(run) / 'best.pt'} -o {Path(run) / 'model.onnx'}"


def _config(pkg, o: dict):
    from hcd_edge.train.augment import Augment
    from hcd_edge.train.split import Balance, SplitKind

    model = pkg.ModelConfig(arch=pkg.Arch(o["model"]), widths=o["widths"] or (), dropout=o["dropout"],
                            block=pkg.Block(o["block"]), pool=pkg.Pool(o["pool"]))
    return pkg.TrainConfig(
        data=tuple(o["data"]), out=o["out"], model=model, epochs=o["epochs"], batch_size=o["batch_size"],
        lr=o["lr"], weight_decay=o["weight_decay"], schedule=pkg.Schedule(o["schedule"]),
        patience=o["patience"], seed=o["seed"], val_fraction=o["val_fraction"], holdout=o["holdout"],
        holdout_from=o["holdout_from"], label_smoothing=o["label_smoothing"], teachers=tuple(o["teacher"]),
        distill=o["distill_weight"] if o["teacher"] else 0.0,
        split=SplitKind(o["split"]), balance=Balance(o["balance"]),
        augment=Augment.off() if o["no_augment"] else Augment(shift=o["shift"], hed=o["hed"]),
        weights=o["weights"],
        head_epochs=o["head_epochs"], limit=o["limit"], tta=o["tta"], ema=o["ema"], threads=o["threads"],
        data_name=o["data_name"], command=shlex.join(["hcd-edge", *sys.argv[1:]]),
    )
