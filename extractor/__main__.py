"""``python -m extractor`` runs the ``tenderx`` command."""

from extractor.cli import main

if __name__ == "__main__":
    main()
