"""Qt basics every room uses: theme, palette, dialogs, pixmaps, compatibility fixes."""
