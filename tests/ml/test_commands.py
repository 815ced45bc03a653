import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError

COMMANDS = ["build_dataset", "train_model", "train_mixed", "evaluate_model", "export_beat_images"]


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help(name):
    assert get_commands()[name] == "classifier"
    command = load_command_class("classifier", name)
    text = command.create_parser("manage.py", name).format_help()
    assert "--data-dir" in text and "--download" in text
    assert len(command.help) > 40


def test_missing_data_dir_is_a_clear_command_error(tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        call_command("build_dataset", data_dir=str(tmp_path / "nope"), out=str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()


def test_build_dataset_and_export_images_on_synthetic_records(synthetic_dir, tmp_path):
    out = tmp_path / "beats.npz"
    call_command("build_dataset", data_dir=str(synthetic_dir), out=str(out), records=["100"])
    assert out.is_file()
    folder = tmp_path / "Dataset"
    call_command("export_beat_images", data_dir=str(synthetic_dir), out=str(folder))
    # 101 is a DS1 record (train), 100 a DS2 record (test)
    assert {p.name for p in (folder / "train").iterdir()} == {"N", "V"}
    assert len(list((folder / "test" / "V").glob("*.png"))) == 8


def test_unknown_configuration_is_rejected(synthetic_dir):
    with pytest.raises(CommandError, match="unknown configuration"):
        call_command("train_model", data_dir=str(synthetic_dir), only=["resnet"])


@pytest.mark.slow
def test_train_from_an_image_folder(synthetic_dir, tmp_path):
    import json

    folder = tmp_path / "Dataset"
    call_command("export_beat_images", data_dir=str(synthetic_dir), out=str(folder))
    runs = tmp_path / "runs"
    call_command(
        "train_model",
        image_folder=str(folder / "train"),
        epochs=1,
        runs_dir=str(runs),
        name="folder_test",
    )
    meta = json.loads((runs / "folder" / "folder_test.json").read_text())
    assert meta["task"] == "image" and meta["inputs"] == ["image"]
    assert meta["training"]["train_beats"] + meta["training"]["validation_beats"] == len(
        list((folder / "train").glob("*/*.png"))
    )
