"""Drive the command line in-process, as the tests of every command do."""
from genlab.cli import main


def run(capsys, *argv):
    """``genlab ARGV...``: (exit status, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err
