#!/usr/bin/env python3
"""Converts docs/openapi.yaml to JSON for coapgw's /api/openapi.json, at
build time (gateway/CMakeLists.txt):
    python3 yaml_to_json.py IN.yaml OUT.json
YAML anchors and merge keys are resolved by PyYAML (Debian python3-yaml);
embed_assets.cmake then rewrites its C file only when the JSON changed.
Fails on a YAML error, a duplicate key, or a document that is
not an OpenAPI object."""
import json
import sys

import yaml


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML
    keeps the last silently; a repeated path or status would vanish)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                             StrictLoader.construct_mapping)


def main(src, dst):
    with open(src, encoding="utf-8") as f:
        doc = yaml.load(f, Loader=StrictLoader)  # noqa: S506 (a SafeLoader)
    if not isinstance(doc, dict) or "openapi" not in doc or "paths" not in doc:
        sys.exit(f"{src}: not an OpenAPI description")
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(dst, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: yaml_to_json.py IN.yaml OUT.json")
    main(sys.argv[1], sys.argv[2])
