"""The command line: one module per area, wired together in bot.cli."""
