"""One module per flow. app.py joins their entry points and states into ONE ConversationHandler,
so a chat is in at most one flow at a time (any other command ends the flow in progress)."""
