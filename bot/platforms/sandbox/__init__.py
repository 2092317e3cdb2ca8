"""The sandbox (模拟工作台): a third platform whose chats are pages of this server (bot/web/sandbox)."""
