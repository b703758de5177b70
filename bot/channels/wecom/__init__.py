"""WeCom (企业微信) AI-bot channel over the long connection (智能机器人长连接)."""
