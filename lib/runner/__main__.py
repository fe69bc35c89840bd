import sys

from lib.runner.cli import main

sys.exit(main())
