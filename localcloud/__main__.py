from localcloud.server import main

raise SystemExit(main())
