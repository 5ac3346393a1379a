"""The main window and what belongs to it alone: start-up, menus, session state, screen fit."""
