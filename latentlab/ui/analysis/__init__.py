"""The Analyse room: interpolation strip and dock, comparison, arithmetic, outliers."""
