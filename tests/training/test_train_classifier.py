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
from hfgan.training import list_checkpoints

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
    run_classifier("method=ssgan", output_dir=tmp_path / "straight")
    run_classifier("method=ssgan", "max_steps=2", output_dir=tmp_path / "split")
    run_classifier("method=ssgan", "resume=latest", output_dir=tmp_path / "split")
    for part in ("discriminator", "generator"):
        a = list_checkpoints(tmp_path / "straight" / "checkpoints")[-1] / part
        b = list_checkpoints(tmp_path / "split" / "checkpoints")[-1] / part
        cls = DCGANDiscriminator if part == "discriminator" else DCGANGenerator
        wa, wb = cls.from_pretrained(a).state_dict(), cls.from_pretrained(b).state_dict()
        for name in wa:
            if "running" not in name and "num_batches" not in name:
                assert torch.equal(wa[name], wb[name]), (part, name)


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
