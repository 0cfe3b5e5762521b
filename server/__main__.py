"""`python -m server`: run badgeflow with settings from the environment.

`python -m server keys …` manages API keys offline instead (server.auth_cli), e.g. the
first admin key of a fresh database: `python -m server keys create --role admin --name ops`.
"""

import sys

if sys.argv[1:2] == ["keys"]:
    from server.auth_cli import main as keys_main

    sys.exit(keys_main(sys.argv[2:]))

from server.app import main

sys.exit(main())
