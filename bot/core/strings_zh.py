"""Every Chinese text the bot shows its users, in one file for whoever edits or translates them.

Placeholders in braces (``{title}``) are filled in by the code; keep them. Admin replies about
the knowledge base (/reload, ``kb check``) are in English, like the problems they list; the
admin figures (/stats, /unanswered) and /teach keep their texts beside their code for now.
"""

from __future__ import annotations

HOTLINE = "12333"

# -- answers -------------------------------------------------------------------------------

SOURCE_LINE = "来源：{outlet}{title}（{date}）。政策可能有更新，请以当地人社部门为准。"
SOURCE_TITLE = "《{title}》"
FALLBACK_TEXT = (
    "抱歉，这个问题我手上的资料里没有确切的答案，我不想乱说误导您。\n"
    f"建议拨打人社服务热线 {HOTLINE}，或到当地社保经办机构咨询。\n"
    "也可以点「菜单」，看看我能回答哪些问题。"
)
SUGGEST_TEXT = "您是不是想问："
ASSUMED_TEXT = "（接着您刚才问的「{title}」来回答）"
OTHERS_TEXT = "如果问的不是这个，也可以点下面的问题："
UNANSWERED_TEXT = (
    "您还问到「{quoted}」：我手上的资料里没有这方面的内容，"
    f"请拨打人社服务热线 {HOTLINE} 或到当地社保经办机构咨询。"
)
NONE_OF_THESE_TEXT = (
    f"好的，这个问题我暂时答不了。建议拨打人社服务热线 {HOTLINE} 咨询。\n"
    "您的问题我已记下，管理员会据此完善资料。"
)
GREETING_TEXT = "您好！有关社保卡的问题，直接打字问我就行，比如「电子社保卡怎么领」。"
THANKS_TEXT = "不客气！还有问题随时问我。"
PRIVACY_NOTICE = (
    "提醒：请不要在聊天里发送身份证号、手机号、银行卡号或验证码，这些信息我用不到。"
    "您刚才的消息里像有这类信息，我已在记录中把它隐去。"
)

# -- buttons -------------------------------------------------------------------------------

BUTTON_USEFUL = "👍 有用"
BUTTON_USELESS = "👎 没用"
BUTTON_MENU = "📋 菜单"
BUTTON_NONE_OF_THESE = "都不是"
BUTTON_BACK = "⬅️ 返回"
THANKS_UP = "谢谢您的反馈！"
THANKS_DOWN = f"谢谢反馈！可以换个说法再问问，或拨打人社服务热线 {HOTLINE} 咨询。"
STALE_BUTTON = "这个按钮已经过期了。请重新提问，或发送 /menu 查看全部问题。"
NOT_YOUR_QUESTION = "这是给提问的人选的。您有问题可以直接问我。"

# -- menus and help ------------------------------------------------------------------------

WELCOME_TEXT = (
    "您好！我是社保卡小助手，可以回答电子社保卡、第三代社保卡，以及养老资格认证、"
    "工伤、失业金、社保查询缴费、网上找工作等问题。\n"
    "直接打字问我就行，比如：「电子社保卡怎么领」。也可以点下面的分类看看。"
)
HELP_TEXT = (
    "怎么用：\n"
    "• 直接发一句话提问，比如「养老资格认证怎么在手机上做」。\n"
    "• /menu 按分类浏览全部问题。\n"
    "• 在群里：@我 提问，回复我的消息，或发 /ask 问题。\n"
    "• 在任何聊天里输入 @我的用户名 加问题，可以把答案发给别人。\n"
    f"我只回答资料里有的内容；没把握的，会请您拨打 {HOTLINE} 核实。"
)
MENU_TEXT = "请选择一个分类："
CATEGORY_TEXT = "「{category}」下的问题："

# -- Telegram ------------------------------------------------------------------------------

NON_TEXT_HINT = (
    "我只看得懂文字。请直接打字提问，比如「电子社保卡怎么领」；发送 /menu 可以按分类查看。"
)
UNKNOWN_COMMAND = "没有这个命令。直接打字提问就行，发送 /help 查看用法。"
ASK_EXAMPLE = "请把问题写在 /ask 后面，比如：/ask 电子社保卡怎么领"
GROUP_EXAMPLE = "请把问题和 @{name} 写在一起，或者发送：/ask@{name} 电子社保卡怎么领"
GROUP_WAYS = "发送 /ask@{name} 加问题，或者回复我的消息"
GROUP_WAYS_MENTION = "直接 @{name} 加问题、{ways}"
GROUP_USAGE = (
    "大家好！我是社保卡小助手，回答电子社保卡、第三代社保卡和社保线上办事的问题。\n"
    "在群里向我提问：{ways}。平时的聊天我不会打扰。\n"
    "想慢慢问，可以私聊我：@{name}"
)
NOT_FOUND_INLINE = "没找到？打开小助手提问"
OPEN_IN_BOT = "在小助手里查看"
SLOW_DOWN = "消息太多太快，我回答不过来，有几条只好跳过了。请稍等片刻再发，谢谢！"
APOLOGY = f"抱歉，刚才出了点问题，请稍后再试一次。着急的话，可以拨打人社服务热线 {HOTLINE}。"
ADMIN_ONLY = "抱歉，这个命令只有管理员可以使用。"
PRIVATE_ONLY = "管理员命令请在和我的私聊里使用：统计和用户的提问不宜发到群里。"
# -- admins --------------------------------------------------------------------------------

BAD_DAYS = "「{value}」不是有效的天数：请写 1 到 {maximum} 之间的整数。"
BAD_COUNT = "「{value}」不是有效的条数：请写 1 到 {maximum} 之间的整数。"
STORAGE_DOWN = (
    "⚠️ 数据库（{database}）现在用不了，{what}读不出来。机器人照常回答问题，只是暂时不记录。"
    "原因见日志（搜索 Storage problem）。"
)
STORAGE_ERROR = "⚠️ 读取{what}时出错（{error}），详情见日志。机器人照常回答问题。"
UNREADABLE = (
    "⚠️ 数据库现在读不出来，{what}看不到：这不等于没有。机器人照常回答问题，"
    "原因见日志（搜索 Storage problem）。"
)
TAUGHT = "知识库已重新加载，现在就生效。"
TAUGHT_NOT_LOADED = (
    "⚠️ learned.yaml 已经改好，但知识库没能重新加载，新问法还没生效。发 /reload 可以看到问题所在。"
)
WHAT_STATS = "统计"
WHAT_UNANSWERED = "未回答的问题"
UNREADABLE_GROUPS = "⚠️ 未回答的问题读不出来（数据库出错，见上面的日志）。"

# -- Telegram command menus ----------------------------------------------------------------

COMMAND_START = "开始：欢迎和分类菜单"
COMMAND_MENU = "按分类浏览全部问题"
COMMAND_ASK = "提问，例如 /ask 电子社保卡怎么领"
COMMAND_HELP = "使用说明"
COMMAND_STATS = "管理员：使用统计，例如 /stats 30"
COMMAND_UNANSWERED = "管理员：没能回答的问题，例如 /unanswered 20"
COMMAND_TEACH = "管理员：教新问法 /teach 问题 => 条目id，/teach undo 撤销"
COMMAND_RELOAD = "管理员：重新加载知识库"

# -- the console (esscard-bot chat) --------------------------------------------------------

CONSOLE_BANNER = (
    "社保卡小助手（离线试用）。输入问题回车；输入按钮编号等于点按钮；/menu 菜单；"
    "/teach 问题 => 条目id 教新问法；quit 退出。"
)
CONSOLE_PROMPT = "你："
CONSOLE_NOT_STORED = "（控制台试用：什么也没有记录。）"
CONSOLE_IMAGE = "[图片] {where}  {caption}"
CONSOLE_TAUGHT = "{message}\n已写入 {where}，现在就生效。"
CONSOLE_TAUGHT_NOT_LOADED = "{message}\n已写入 {where}，但知识库没能重新加载：\n{problems}"
