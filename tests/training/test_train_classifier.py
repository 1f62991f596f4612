import io
import json

import numpy as np
import PIL.Image
import pytest
import torch
import yaml
from datasets import Dataset, Features, Image

from hfgan import DCGANDiscriminator, DCGANGenerator, DiscriminatorClassifierPipeline, HfGanPipeline
from hfgan.data import resolve_data_source
from hfgan.training import TrainingRun, list_checkpoints

EMOJI_GROUPS = 9


def card_of(release):
    text = (release / "README.md").read_text()
    return yaml.safe_load(text.split("---")[1]), text


@pytest.mark.parametrize("method", ["ssgan", "supervised"])
def test_trained_methods_end_to_end(run_classifier, tmp_path, method):
    summary = run_classifier(f"method={method}")
    out, release = tmp_path / "run", tmp_path / "run" / "release"
    assert summary["steps"] == 4 and set(summary["metrics"]) == {"accuracy", "balanced_accuracy"}
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert {"loss_d", "train_accuracy"} <= set(records[0]) and ("loss_g" in records[0]) == (method == "ssgan")
    assert [r["step"] for r in records if "balanced_accuracy" in r] == [2, 4]  # metrics.every=2, on the test split
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-0000002", "step-0000004"]

    pipe = HfGanPipeline.from_pretrained(release)
    assert isinstance(pipe, DiscriminatorClassifierPipeline)
    assert pipe.discriminator.config.num_classes == EMOJI_GROUPS and pipe.discriminator.labels[8] == "Flags"
    assert (release / "generator").is_dir() == (method == "ssgan")  # ssgan's generator travels with the release
    meta, text = card_of(release)
    assert meta["pipeline_tag"] == "image-classification"
    reported = {m["type"] for m in meta["model-index"][0]["results"][0]["metrics"]}
    assert {"accuracy", "balanced_accuracy"} <= reported
    assert "2 per class (counted by base_name)" in text  # the number of labels used


def test_probe_fits_an_unsupervised_discriminator_without_training(run_classifier, tmp_path):
    torch.manual_seed(0)
    unsupervised = DCGANDiscriminator(base_channels=4, image_size=16)
    unsupervised.save_pretrained(tmp_path / "gan_d")
    summary = run_classifier("method=probe", f"probe.discriminator={tmp_path / 'gan_d'}")
    assert summary["steps"] == 0 and 0 <= summary["metrics"]["balanced_accuracy"] <= 1
    classifier = DiscriminatorClassifierPipeline.from_pretrained(tmp_path / "run" / "release").discriminator
    assert classifier.config.classifier == "probe" and classifier.config.num_classes == EMOJI_GROUPS
    for name, weight in unsupervised.state_dict().items():  # the probed network is the given one, unchanged
        if "running" not in name and "num_batches" not in name:  # BatchNorm statistics are recomputed on real images
            torch.testing.assert_close(classifier.state_dict()[name], weight)


def test_resume_continues_to_the_same_weights(run_classifier, tmp_path):
    # with the rotation task, whose head is no part of the release but of the checkpoint, and the EMA
    terms = ("method=ssgan", "loss.rotation_weight=1", "ema.decay=0.9")
    run_classifier(*terms, output_dir=tmp_path / "straight")
    run_classifier(*terms, "max_steps=2", output_dir=tmp_path / "split")
    run_classifier(*terms, "resume=latest", output_dir=tmp_path / "split")
    records = [json.loads(line) for line in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines()]
    assert all(0 <= r["rotation_accuracy"] <= 1 and r["loss_rotation"] > 0 for r in records if "loss_d" in r)
    for part in ("discriminator", "discriminator_ema", "generator"):
        a = list_checkpoints(tmp_path / "straight" / "checkpoints")[-1] / part
        b = list_checkpoints(tmp_path / "split" / "checkpoints")[-1] / part
        cls = DCGANGenerator if part == "generator" else DCGANDiscriminator
        wa, wb = cls.from_pretrained(a).state_dict(), cls.from_pretrained(b).state_dict()
        for name in wa:
            if "running" not in name and "num_batches" not in name:
                assert torch.equal(wa[name], wb[name]), (part, name)
    # the release classifies with the EMA's weights, not the last step's
    released = DiscriminatorClassifierPipeline.from_pretrained(tmp_path / "straight" / "release").discriminator
    last = list_checkpoints(tmp_path / "straight" / "checkpoints")[-1]
    for part, same in (("discriminator_ema", True), ("discriminator", False)):
        weight = DCGANDiscriminator.from_pretrained(last / part).state_dict()["main.0.weight"]
        assert torch.equal(released.state_dict()["main.0.weight"], weight) == same, part


def unlabeled_parquet(path):
    pixels = np.zeros((4, 16, 16, 3), dtype=np.uint8)

    def png(p):
        buffer = io.BytesIO()
        PIL.Image.fromarray(p).save(buffer, format="PNG")
        return buffer.getvalue()

    Dataset.from_dict({"image": [{"bytes": png(p), "path": None} for p in pixels]},
                      features=Features({"image": Image()})).to_parquet(str(path))
    return path


@pytest.mark.parametrize(
    "overrides, message",
    [
        (["method=gan"], "method='gan': choose one of ssgan, probe, supervised"),
        (["loss.generator=hinge"], "loss.generator='hinge'"),
        (["method=probe"], "method=probe needs probe.discriminator"),
        (["method=supervised", "loss.rotation_weight=1"], "only method=ssgan uses"),
        (["labels.per_class=500"], "asked for 500 labeled groups per class, but class 0 has"),
        (["labels.column=subgroup", "labels.per_class=null"], None),  # fine: a string column, 90-odd classes
        (["labels.column=nope"], "no label column 'nope'"),
        (["labels.group_by=nope"], "no column 'nope' to group labels by"),
        (["unknown_key=1"], "unknown_key"),
    ],
)
def test_bad_configs_are_clear_errors(run_classifier, overrides, message):
    if message is None:
        assert run_classifier(*overrides, "max_steps=1", "metrics.every=-1")["steps"] == 1
        return
    with pytest.raises(Exception, match=message):
        run_classifier(*overrides)


def test_dataset_without_labels_and_wrong_probe_size_are_refused(run_classifier, tmp_path):
    source = unlabeled_parquet(tmp_path / "unlabeled.parquet")
    with pytest.raises(ValueError, match="no label column 'label'"):
        run_classifier(f"data.source={source}", "labels.group_by=null")
    # the failed run saved nothing, so the same output folder takes the next run without overwrite=true
    DCGANDiscriminator(base_channels=4, image_size=8).save_pretrained(tmp_path / "d8")
    with pytest.raises(ValueError, match="unsupervised .*16 px discriminator"):
        run_classifier("method=probe", f"probe.discriminator={tmp_path / 'd8'}")


def test_push_to_the_hub_gives_a_repo_both_libraries_load(run_classifier, hub, hf_token_env, tmp_path):
    repo_id = hub.new_repo_id("classifier")
    run_classifier("method=supervised", "hub.push=true", f"hub.repo_id={repo_id}")
    files = set(hub.api.list_repo_files(repo_id))
    assert {"model_index.json", "discriminator/config.json", "config.json", "model.safetensors",
            "preprocessor_config.json", "README.md"} <= files
    from transformers import pipeline

    classifier = pipeline("image-classification", model=repo_id)
    image = resolve_data_source("emoji", "test").image_cells(0, 1)[0]["bytes"]
    theirs = classifier(PIL.Image.open(io.BytesIO(image)), top_k=3)
    ours = DiscriminatorClassifierPipeline.from_pretrained(repo_id)(PIL.Image.open(io.BytesIO(image)), top_k=3)
    assert [p["label"] for p in theirs] == [p["label"] for p in ours]


def test_resuming_with_another_label_set_names_the_difference(run_classifier, tmp_path):
    run_classifier("method=supervised", "max_steps=2")
    with pytest.raises(ValueError, match="cannot resume discriminator .*num_classes=9 there"):
        run_classifier("method=supervised", "resume=latest", "labels.column=subgroup", "labels.per_class=null")


def test_learning_rates_ramp_down_with_the_run_and_the_discriminator_can_drop_batch_norm(run_classifier, tmp_path):
    # ramped down over the last half of a 4-step run to a tenth: step k trains at progress (k - 1) / 4
    run_classifier("schedule.lr_ramp_down=0.5", "schedule.lr_final=0.1", "optim.d_lr=1e-3", "model.d_norm=weight")
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    lr_d = {r["step"]: r["lr_d"] for r in records if "lr_d" in r}
    assert lr_d == pytest.approx({1: 1e-3, 2: 1e-3, 3: 1e-3, 4: 5.5e-4})
    released = DiscriminatorClassifierPipeline.from_pretrained(tmp_path / "run" / "release").discriminator
    assert released.config.norm == "weight"


def test_a_budget_ends_a_long_schedule_and_the_ramp_follows_the_clock(run_classifier, tmp_path, monkeypatch, capsys):
    # a fake clock: one "minute" per step, so 8 minutes end a 100-step schedule at step 8 on any machine, and the
    # ramp over the last half of the run follows the clock (by the steps' fraction it would not have started)
    monkeypatch.setattr(TrainingRun, "elapsed_minutes", lambda self: float(self.step))
    summary = run_classifier("max_minutes=8", "max_steps=100", "schedule.lr_ramp_down=0.5", "schedule.lr_final=0",
                             "optim.d_lr=1e-3", "logging.progress_bar=true")
    assert summary["steps"] == 8 and summary["stopped_by"] == "max_minutes=8.0"
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    lr_d = {r["step"]: r["lr_d"] for r in records if "lr_d" in r}
    assert lr_d == pytest.approx({1: 1e-3, 2: 1e-3, 3: 1e-3, 4: 1e-3, 5: 1e-3, 6: 7.5e-4, 7: 5e-4, 8: 2.5e-4})
    assert "8.0/8 min, 8 steps" in capsys.readouterr().err  # the progress bar counts the budget's minutes
    _, card = card_of(tmp_path / "run" / "release")
    assert "| steps | 8 steps in 8.0 minutes (budget) |" in card  # and the card says what ended the run


def test_batch_norm_statistics_from_every_training_image_once(run_classifier, tmp_path):
    from hfgan.data import load_image_dataset

    run_classifier("method=ssgan", "metrics.bn_batches=null", "metrics.every=0")
    released = DiscriminatorClassifierPipeline.from_pretrained(tmp_path / "run" / "release").discriminator
    images = load_image_dataset("emoji", split="train", image_size=16).images  # what ssgan calibrates on, in order
    batch_means = []
    with torch.no_grad():
        for chunk in torch.arange(len(images)).split(8):  # batch_size=8
            x = images[chunk].float() / 127.5 - 1
            batch_means.append(released.main[:3](x).mean((0, 2, 3)))  # conv, LeakyReLU, conv: the first BatchNorm's input
    bn = released.main[3]
    assert isinstance(bn, torch.nn.BatchNorm2d)
    torch.testing.assert_close(bn.running_mean, torch.stack(batch_means).mean(0), rtol=1e-4, atol=1e-5)
