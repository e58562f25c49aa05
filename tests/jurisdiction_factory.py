"""Synthetic jurisdiction packs: a new jurisdiction needs one YAML file and no code."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_synthetic_pack(directory: Path, departments: int = 20, id: str = "synthetic") -> Path:
    """Write ``<directory>/<id>.yaml`` with departments ``dept01``, ``dept02``, ... (lead dept01).

    Measure ``(一)`` names every department (an N-way 会签); measure ``(二)`` names the lead alone.
    """
    codes = [f"dept{number:02d}" for number in range(1, departments + 1)]
    pack = {
        "id": id,
        "name": f"合成辖区{id}",
        "name_en": f"Synthetic jurisdiction {id}",
        "level": "province",
        "document": "合人社发〔2025〕1号",
        "issued": "2025-01-02",
        "valid_from": "2025-02-01",
        "valid_until": None,
        "lead": codes[0],
        "departments": [
            {
                "code": code,
                "name": f"合成第{number}部门",
                "name_en": f"Synthetic department {number}",
            }
            for number, code in enumerate(codes, start=1)
        ],
        "measures": [
            {
                "id": "(一)",
                "title": "全体部门会签",
                "departments": codes,
                "wording": "按职责分工负责",
            },
            {"id": "(二)", "title": "牵头部门负责", "departments": codes[:1], "wording": "负责"},
        ],
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{id}.yaml"
    path.write_text(yaml.safe_dump(pack, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
