"""Check that imports inside the ``mtda`` package run one way: from higher layers to lower ones.

    python tools/check_layering.py [--root mtda]

Prints every import that runs backwards (a lower layer importing a higher one, or two sibling
packages of one layer importing each other) and every import of mmseg/mmengine/mmcv from a module
that must stay pure; exits 1 if there is any. Imports inside functions count too: a deferred import
is still a dependency. The layers are those of ``docs/architecture.md``.
"""
import argparse
import ast
import sys
from pathlib import Path

# (module prefix, layer): a module belongs to its longest matching prefix. A module may import its
# own package and any package of a lower layer.
LAYERS = (
    ('mtda.errors', 0), ('mtda.version', 0),
    ('mtda.io', 1), ('mtda.config', 1), ('mtda.cli', 1),
    ('mtda.datasets', 2), ('mtda.merging', 2),
    ('mtda.models', 3),
    ('mtda.evaluation', 4),
    ('mtda.analysis', 5), ('mtda.training', 5), ('mtda.merging.hook', 5),
    ('mtda.merging.zip_images', 4), ('mtda.routing', 5),
    ('mtda.apis', 6),
)
# Packages that must not import the OpenMMLab stack: the merge rules and the score formulas.
PURE = ('mtda.merging', 'mtda.evaluation.scores', 'mtda.analysis', 'mtda.routing.criteria')
PURE_EXCEPT = ('mtda.merging.hook', 'mtda.merging.zip_images')
FRAMEWORKS = ('mmseg', 'mmengine', 'mmcv')


def owner(module: str) -> tuple:
    """The (prefix, layer) a module belongs to: its longest matching prefix."""
    matches = [(p, layer) for p, layer in LAYERS if module == p or module.startswith(p + '.')]
    return max(matches, key=lambda m: len(m[0])) if matches else (None, None)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def imports_of(path: Path, module: str) -> list:
    """``(line, imported module)`` for every import statement of the file, relative ones resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == '__init__.py' else module.rsplit('.', 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            # ``from mtda.merging import hook`` imports the submodule mtda.merging.hook
            found += [(node.lineno, f'{target}.{alias.name}') if node.module is None or
                      owner(f'{target}.{alias.name}')[0] == f'{target}.{alias.name}' else
                      (node.lineno, target) for alias in node.names]
    return found


def violations(root: Path) -> list:
    """One line per import that runs backwards or breaks purity."""
    lines = []
    for path in sorted(root.rglob('*.py')):
        module = module_name(path, root)
        if module == root.name:  # the package root imports everything to register it
            continue
        prefix, layer = owner(module)
        pure = module.startswith(PURE) and not module.startswith(PURE_EXCEPT)
        for lineno, target in sorted(set(imports_of(path, module))):
            where = f'{path}:{lineno}: {module} imports {target}'
            if pure and target.split('.')[0] in FRAMEWORKS:
                lines.append(f'{where} (a pure module importing {target.split(".")[0]})')
            if not target.startswith(root.name + '.') or prefix is None:
                continue
            target_prefix, target_layer = owner(target)
            if target_prefix is None or target_prefix == prefix:
                continue
            if target_layer > layer:
                lines.append(f'{where} (layer {layer} -> higher layer {target_layer})')
            elif target_layer == layer and not prefix.startswith(target_prefix + '.'):
                lines.append(f'{where} (sibling packages of layer {layer})')
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--root', default=str(Path(__file__).resolve().parents[1] / 'mtda'),
                        help='the package folder (default: this repository\'s mtda/)')
    args = parser.parse_args(argv)
    found = violations(Path(args.root))
    if found:
        print('\n'.join(found))
    print(f'{len(found)} import(s) against the layering')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main())
