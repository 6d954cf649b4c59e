from ntk_study.cli import main

raise SystemExit(main())
