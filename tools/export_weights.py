"""Export a training checkpoint as a weights-only file others can load safely.

    python tools/export_weights.py CKPT OUT.pth [--prefix model.]

Reads a training checkpoint weights-only (mtda's own are plain data; one written by plain mmengine
needs --trust-checkpoint) and writes ``{'state_dict', 'meta'}`` with primitive meta and the
input's sha256, atomically.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mtda.cli import ArgumentParser, run_tool  # noqa: E402


def main(argv=None):
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('checkpoint', help='an mmengine checkpoint (e.g. work_dirs/x/iter_4000.pth)')
    parser.add_argument('out', help='the weights-only file to write')
    parser.add_argument('--prefix', default='',
                        help="keep only state_dict keys under this prefix, removing it")
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow full unpickling of CKPT (runs code in it; only for files '
                             'whose origin you trust)')
    args = parser.parse_args(argv)
    from mtda.io.export import export_weights
    out = export_weights(args.checkpoint, args.out, prefix=args.prefix,
                         trust=args.trust_checkpoint)
    print(f'wrote {out}')


if __name__ == '__main__':
    sys.exit(run_tool(main))
