"""ID cards (IDCardOCR, AILicenseRec): field accuracy on fictional cards and CPU time beside rapidocr.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.bench_idcard                  # everything (about 7 minutes of CPU)
    .venv/bin/python -m benchmarks.bench_idcard --part license   # or idcard; --quick: one holder

The set: :data:`PEOPLE` (fictional holders: region code 99, which no region has; valid check
digits; short and long names and addresses, male and female, four ethnic groups, a 长期 card),
each side drawn by :func:`cinb.ai.idcard.specimen` and degraded by :func:`photograph` into
:data:`VARIANTS`. A field counts as right only when equal to the printed text, character for
character. No real card is used anywhere.

Speed: CPU seconds (``time.process_time``, both threads of the process) per card for
``ci_process(card, "IDCardOCR")`` and for rapidocr's own ``RapidOCR()(image)`` on the same decoded
picture (the model cinb shares, the same ONNX files), alternating the two. The machine is shared
with other jobs: CPU time is steadier than wall time, and the ratio is the figure to keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import time

import numpy as np
from PIL import Image

from cinb import ci_process
from cinb.ai import models
from cinb.ai.idcard import Person, license_specimen, photograph, specimen

PEOPLE = (
    Person(),
    Person(name="李小红", sex="女", nation="回", birth=dt.date(1985, 11, 3),
           address="示例自治区样本州演示县虚构镇测试村三组", sequence=456, authority="样本县公安局",
           valid="2015.07.21-2035.07.21"),
    Person(name="欧阳明月", sex="女", nation="满", birth=dt.date(2001, 1, 9), address="演示市示范路8号", sequence=88,
           authority="演示市公安局示范分局", valid="2019.01.09-2029.01.09"),
    Person(name="王建国", sex="男", nation="蒙古", birth=dt.date(1962, 7, 30),
           address="虚构省测试市样例区长安街道新华路二百零一号三栋四楼", sequence=17, authority="测试市公安局样例分局",
           valid="2012.05.01-长期"),
)

VARIANTS = {
    "scan (card fills the picture)": lambda c: c,
    "photo, 7 deg, perspective": lambda c: photograph(c, angle=7, tilt=0.08, seed=1),
    "photo, blurred (sigma 2)": lambda c: photograph(c, angle=-4, blur=2.0, seed=2),
    "photo, JPEG q30": lambda c: photograph(c, angle=3, quality_=30, seed=3),
    "greyscale copy on paper": lambda c: photograph(c, angle=2, grey=True, background=(235, 235, 235), seed=4),
    "border cut (15 %)": lambda c: photograph(c, crop=0.15, seed=5),
    "small card (5 px/mm)": lambda c: photograph(c.resize((c.width * 5 // 12, c.height * 5 // 12)), angle=5, seed=6),
    "upside down": lambda c: photograph(c, angle=178, seed=7),
}

CONFIG = json.dumps({"CopyWarn": True, "BorderCheckWarn": True, "InvalidDateWarn": True})


def expected(p: Person, side: str) -> dict:
    if side == "FRONT":
        return {"Name": p.name, "Sex": p.sex, "Nation": p.nation,
                "Birth": f"{p.birth.year}/{p.birth.month}/{p.birth.day}", "Address": p.address, "IdNum": p.number}
    return {"Authority": p.authority, "ValidDate": p.valid}


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def accuracy(people=PEOPLE) -> dict:
    fields: dict[str, list[int]] = {}
    per_variant: dict[str, list[int]] = {}
    warns: dict[str, list[str]] = {}
    cpu_cinb, cpu_raw = [], []
    engine = models.get("ocr")
    for p in people:
        for side in ("FRONT", "BACK"):
            card = specimen(p, side=side)
            for name, make in VARIANTS.items():
                data = _png(make(card))
                t = time.process_time()
                try:
                    r = ci_process(data, "IDCardOCR", Config=CONFIG)
                    got, adv = r.json["IdInfo"], r.json["AdvancedInfo"]
                except Exception as exc:  # noqa: BLE001 - a benchmark counts failures, it does not stop on them
                    got, adv = {}, {"error": str(exc)}
                cpu_cinb.append(time.process_time() - t)
                rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[:, :, ::-1]
                t = time.process_time()
                engine.ocr(np.ascontiguousarray(rgb))  # rapidocr's own pipeline on the same pixels
                cpu_raw.append(time.process_time() - t)
                for key, value in expected(p, side).items():
                    ok = int(got.get(key) == value)
                    fields.setdefault(key, []).append(ok)
                    per_variant.setdefault(name, []).append(ok)
                warns.setdefault(name, []).append(",".join(str(c) for c in adv.get("WarnInfos", [])) or
                                                  ("error" if "error" in adv else "-"))
    return {"fields": {k: f"{sum(v)}/{len(v)}" for k, v in fields.items()},
            "variants": {k: f"{sum(v)}/{len(v)}" for k, v in per_variant.items()},
            "warnings": {k: sorted(set(v)) for k, v in warns.items()},
            "cpu_ms_cinb": round(1000 * statistics.median(cpu_cinb)),
            "cpu_ms_rapidocr": round(1000 * statistics.median(cpu_raw)),
            "ratio": round(statistics.median(cpu_cinb) / statistics.median(cpu_raw), 2),
            "cards": len(cpu_cinb), "load": os.getloadavg()[0]}


LICENSE_VARIANTS = ("scan (card fills the picture)", "photo, 7 deg, perspective", "photo, JPEG q30",
                    "small card (5 px/mm)")


def license_accuracy(people=PEOPLE) -> dict:
    """AILicenseRec: fields whose DetectedText equals the printed text, ID card fronts and driving licences."""
    got: dict[str, list[int]] = {}
    cpu = []
    for p in people:
        printed = {
            "IDCard": {"姓名": p.name, "性别": p.sex, "民族": p.nation,
                       "出生日期": f"{p.birth.year}/{p.birth.month}/{p.birth.day}", "住址": p.address,
                       "公民身份证号": p.number},
            "DriverLicense": {"证号": p.number, "姓名": p.name, "性别": p.sex, "国籍": "中国",
                              "住址": p.address[:30], "出生日期": f"{p.birth:%Y-%m-%d}", "初次领证日期": "2010-06-01",
                              "准驾车型": "C1", "有效期限": "2016-06-01至2026-06-01"},
        }
        for kind, card in (("IDCard", specimen(p)), ("DriverLicense", license_specimen(p))):
            for name in LICENSE_VARIANTS:
                t = time.process_time()
                r = ci_process(_png(VARIANTS[name](card)), "AILicenseRec", CardType=kind)
                cpu.append(time.process_time() - t)
                answer = {i["Name"]: i["DetectedText"] for i in r.json["IdInfo"]}
                for field, text in printed[kind].items():
                    got.setdefault(f"{kind} {field}", []).append(int(answer.get(field) == text))
    return {"fields": {k: f"{sum(v)}/{len(v)}" for k, v in got.items()},
            "cpu_ms": round(1000 * statistics.median(cpu)), "load": os.getloadavg()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one holder only")
    parser.add_argument("--part", choices=("all", "idcard", "license"), default="all")
    args = parser.parse_args()
    people = PEOPLE[:1] if args.quick else PEOPLE
    result = {}
    if args.part in ("all", "idcard"):
        result["IDCardOCR"] = accuracy(people)
    if args.part in ("all", "license"):
        result["AILicenseRec"] = license_accuracy(people)
    print(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
