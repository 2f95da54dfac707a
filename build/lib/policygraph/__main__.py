import sys

from policygraph.cli import main

sys.exit(main())
