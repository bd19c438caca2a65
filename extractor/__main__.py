"""``python -m extractor`` runs the ``tenderx`` command."""

from extractor.cli.app import main

if __name__ == "__main__":
    main()
