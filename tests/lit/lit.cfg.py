# lit configuration of the gradc tests: .gir (text IR), .pbtxt (models) and
# .test files under tests/lit/, run through gradc-opt / gradc and FileCheck.
# Paths come from lit.site.cfg.py, which CMake writes into the build tree.
import os
import re

import lit.formats

config.name = "gradc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".gir", ".pbtxt", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py.in", "Inputs"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.gradc_obj_root, "tests", "lit")


def tool_pattern(name):
    # The tool as a command word only: not inside a path (`/tools/gradc-opt`),
    # a longer name (`gradc` in `gradc-opt`), a quoted string or a flag value.
    return r"(?<![\w/.\-'\"=])" + re.escape(name) + r"(?![\w/.\-'\"])"


tools = [
    ("gradc-opt", os.path.join(config.gradc_tools_dir, "gradc-opt")),
    ("gradc", os.path.join(config.gradc_tools_dir, "gradc")),
    ("FileCheck", os.path.join(config.llvm_tools_dir, "FileCheck")),
    ("not", os.path.join(config.llvm_tools_dir, "not")),
]
for name, path in tools:
    config.substitutions.append((tool_pattern(name), path))

config.environment["PATH"] = os.pathsep.join(
    [config.gradc_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "")]
)
# Diagnostics and dumps must not depend on the user's terminal.
config.environment["TERM"] = "dumb"
