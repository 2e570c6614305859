from stibium.cli import main

raise SystemExit(main())
