"""Hatchling build hook: compiles the optional C accelerator of the Merkle trees.

``src/batteryloop/ledger/core/_merkle.c`` hashes many tree nodes per call (see its header and
``docs/architecture.md``, "Merkle hashing in C"). It is compiled next to its source, for editable installs
and wheels alike, with the interpreter's own compiler and linker command (``sysconfig``'s ``LDSHARED``) and
linked against OpenSSL's libcrypto. Without a C compiler or OpenSSL's headers the build goes on with a
warning and the package uses its pure-Python hashing, which gives the same results.
``BATTERYLOOP_NO_NATIVE=1`` skips the compilation.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("src/batteryloop/ledger/core/_merkle.c")


class CustomBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or os.environ.get("BATTERYLOOP_NO_NATIVE"):
            return
        root = Path(self.root)
        source = root / SOURCE
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        target = source.with_name("_merkle" + suffix)
        linker = sysconfig.get_config_var("LDSHARED") or "cc -shared"
        command = [
            *shlex.split(linker),
            "-O2",
            "-fPIC",
            "-Wall",
            "-Wno-deprecated-declarations",  # SHA256_Init/Update/Final: deprecated in OpenSSL 3, kept for speed
            f"-I{sysconfig.get_paths()['include']}",
            str(source),
            "-o",
            str(target),
            "-lcrypto",
        ]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            self.app.display_warning(
                "batteryloop: the Merkle trees' C accelerator was not built, the pure-Python hashing is used "
                f"(needs a C compiler and OpenSSL's headers): {detail.strip()[:500]}"
            )
            return
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data["artifacts"].append(str(target.relative_to(root)))
