from wa_compliance.cli import main
import sys
sys.exit(main())
