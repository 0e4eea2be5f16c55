--- Hearth for Neovim: inline code completions and code actions from a local model.
---
--- `require('hearth').setup({})` registers the `hearth` language server with
--- `vim.lsp.config` and turns it on with `vim.lsp.enable` (Neovim 0.11+). On Neovim 0.12+
--- suggestions show as ghost text (`vim.lsp.inline_completion`) and a key accepts them; on 0.11,
--- which has no inline completion, they arrive as one completion item in the popup menu.
--- See editors/nvim/README.md for the user guide.

local M = {}

--- The client name used with `vim.lsp.config` / `vim.lsp.enable` / `vim.lsp.get_clients`.
M.name = 'hearth'

--- Languages Hearth understands; any other text is completed as plain text if added here.
M.default_filetypes = {
  'rust',
  'python',
  'javascript',
  'javascriptreact',
  'typescript',
  'typescriptreact',
  'go',
  'c',
  'cpp',
  'java',
  'lua',
  'sh',
  'bash',
}

---@class hearth.Keys
---@field accept? string|false Insert-mode key that accepts the suggestion (ghost text or menu item), else acts as itself.
---@field trigger? string|false Insert-mode key that asks for a suggestion now (0.11 completion menu).

---@class hearth.Opts
---@field cmd? string[]|string The server command, or just the binary's path. Default: `{ 'hearth' }`.
---@field cmd_env? table<string,string> Extra environment for the server (e.g. `{ HEARTH_LOG = 'debug' }`).
---@field filetypes? string[] Filetypes to attach to. Default: `M.default_filetypes`.
---@field root_markers? (string|string[])[] Files marking a project root. Default: `{ '.git' }`.
---@field settings? table Hearth's settings (`initializationOptions` and the `hearth` configuration section).
---@field inline? boolean Use ghost text when Neovim has it (0.12+). Default: true.
---@field auto? boolean Suggest automatically while typing (`:HearthToggle` flips it). Default: true.
---@field keys? hearth.Keys
---@field notify? boolean Also report model load errors with `vim.notify` (the server already sends
---`window/showMessage` for most). Default: false.

---@type hearth.Opts
local defaults = {
  cmd = { 'hearth' },
  cmd_env = nil,
  filetypes = M.default_filetypes,
  root_markers = { '.git' },
  settings = {},
  inline = true,
  auto = true,
  keys = { accept = '<Tab>', trigger = '<C-Space>' },
  notify = false,
}

--- The options in effect after `setup()`; nil before.
---@type hearth.Opts?
M.config = nil

--- The last `hearth/modelStatus` per client id: `{ state, path, message }`.
---@type table<integer, { state: string, path: string?, message: string? }>
M.model_status = {}

--- Whether automatic suggestions are on (`:HearthToggle`).
M.auto = true

--- Whether this Neovim shows ghost text through `vim.lsp.inline_completion` (0.12+).
function M.has_inline()
  return vim.lsp.inline_completion ~= nil
end

--- Whether Hearth serves ghost text here: a capable Neovim and `inline` not turned off.
local function use_inline()
  return M.has_inline() and (M.config == nil or M.config.inline)
end

--- The running Hearth clients, optionally only those attached to `bufnr`.
---@param bufnr? integer
---@return vim.lsp.Client[]
function M.clients(bufnr)
  return vim.lsp.get_clients({ name = M.name, bufnr = bufnr })
end

local function notify(msg, level)
  vim.notify('Hearth: ' .. msg, level or vim.log.levels.INFO)
end

--- `hearth/modelStatus`: the server reports the model's state whenever it changes.
---@type lsp.Handler
local function on_model_status(_, params, ctx)
  if type(params) ~= 'table' then
    return
  end
  local previous = M.model_status[ctx.client_id]
  M.model_status[ctx.client_id] = {
    state = params.state,
    path = params.path ~= vim.NIL and params.path or nil,
    message = params.message ~= vim.NIL and params.message or nil,
  }
  local changed = not previous or previous.state ~= params.state
  if changed and params.state == 'error' and (not M.config or M.config.notify) then
    local why = M.model_status[ctx.client_id].message or 'unknown error'
    notify('the model could not be loaded: ' .. why .. ' (see :checkhealth hearth)', vim.log.levels.ERROR)
  end
  vim.api.nvim_exec_autocmds('User', { pattern = 'HearthModelStatus', modeline = false, data = params })
end

--- Asks the server for `hearth/status`. Calls back `(status, err)`; on servers without the
--- request, `status` is built from the last `hearth/modelStatus` and `err` explains.
---@param client vim.lsp.Client
---@param callback fun(status: table?, err: string?)
function M.request_status(client, callback)
  local function fallback(why)
    local model = M.model_status[client.id]
    callback(model and { version = nil, model = model, completion = nil } or nil, why)
  end
  local ok = client:request('hearth/status', nil, function(err, result)
    if err or type(result) ~= 'table' then
      fallback(err and err.message or 'no answer to hearth/status')
    else
      callback(result, nil)
    end
  end)
  if not ok then
    fallback('the server is not running')
  end
end

-- Accepting -----------------------------------------------------------------------------------------

--- Hearth's item in the completion menu: its 0-based index and the selected index, or nil.
local function menu_item()
  if vim.fn.pumvisible() == 0 then
    return nil
  end
  local info = vim.fn.complete_info({ 'selected', 'items' })
  for i, item in ipairs(info.items or {}) do
    local client_id = vim.tbl_get(item, 'user_data', 'nvim', 'lsp', 'client_id')
    local client = client_id and vim.lsp.get_client_by_id(client_id)
    if client and client.name == M.name then
      return i - 1, info.selected
    end
  end
end

--- Accepts Hearth's suggestion: the ghost text (0.12+), or Hearth's item in the completion menu.
--- Made for an `expr` mapping: returns the keys that finish the job ('' for ghost text, which is
--- applied right away), or nil when there is nothing to accept, so the mapping can fall back:
--- `vim.keymap.set('i', '<C-l>', function() return require('hearth').accept() or '<C-l>' end, { expr = true })`
---@return string?
function M.accept()
  if M.has_inline() and vim.lsp.inline_completion.get() then
    return ''
  end
  local index, selected = menu_item()
  if not index then
    return nil
  end
  -- Move to Hearth's item (nothing is selected with 'noselect': selected = -1), then confirm.
  local moves = index - selected
  local key = moves >= 0 and '<C-n>' or '<C-p>'
  return key:rep(math.abs(moves)) .. '<C-y>'
end

--- Maps the accept key in `bufnr`: accepts a suggestion, else does what the key always does.
---@param bufnr integer
local function map_accept(bufnr)
  local key = M.config.keys.accept
  if key then
    vim.keymap.set('i', key, function()
      return M.accept() or key
    end, { buffer = bufnr, expr = true, replace_keycodes = true, desc = 'Hearth: accept suggestion' })
  end
end

-- 0.11: the suggestion as a completion item ----------------------------------------------------

--- Neovim 0.11 inserts only the first word of a plain-text `textEdit` (`^%S*`); Hearth's item is a
--- whole line (or several), so insert its first line and add the others on `CompleteDone`.
---@param item lsp.CompletionItem
local function convert_item(item)
  local text = item.textEdit and item.textEdit.newText or item.insertText
  if type(text) ~= 'string' then
    return {}
  end
  return { word = vim.split(text, '\n', { plain = true })[1], abbr = item.label, menu = '[hearth]' }
end

---@param bufnr integer
---@param client vim.lsp.Client
local function on_complete_done(bufnr, client)
  local done = vim.v.completed_item
  local lsp_data = vim.tbl_get(done or {}, 'user_data', 'nvim', 'lsp')
  if not lsp_data or lsp_data.client_id ~= client.id then
    return
  end
  local reason = (vim.v.event or {}).reason
  if reason and reason ~= 'accept' then
    return
  end
  local text = vim.tbl_get(lsp_data, 'completion_item', 'textEdit', 'newText')
  if type(text) ~= 'string' or not text:find('\n', 1, true) then
    return
  end
  -- The first line is in; put the rest after the cursor, leaving the cursor at the end.
  local lines = vim.split(text, '\n', { plain = true })
  lines[1] = ''
  local row, col = unpack(vim.api.nvim_win_get_cursor(0))
  vim.api.nvim_buf_set_text(bufnr, row - 1, col, row - 1, col, lines)
  vim.api.nvim_win_set_cursor(0, { row + #lines - 1, #lines[#lines] })
end

--- Asks for a suggestion in the completion menu (0.11). `invoked` = the user asked explicitly.
---@param invoked boolean
function M.complete(invoked)
  -- Invoked (1) always gets a suggestion; 3 ("re-asking while typing") lets the server decide.
  vim.lsp.completion.get({ ctx = { triggerKind = invoked and 1 or 3 } })
end

--- The debounce timer of each buffer with completion items.
---@type table<integer, uv.uv_timer_t>
local idle_timers = {}

---@param bufnr integer
---@param client vim.lsp.Client
local function attach_completion_items(bufnr, client)
  if not client:supports_method('textDocument/completion') then
    return
  end
  vim.lsp.completion.enable(true, client.id, bufnr, { autotrigger = true, convert = convert_item })
  -- One item arrives without a keystroke; without noinsert/noselect Vim would type it in.
  local cot = vim.bo[bufnr].completeopt ~= '' and vim.bo[bufnr].completeopt or vim.o.completeopt
  if not cot:find('noselect') and not cot:find('noinsert') then
    vim.bo[bufnr].completeopt = cot .. ',menuone,noselect'
  end
  local group = vim.api.nvim_create_augroup('hearth.completion.' .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd('CompleteDone', {
    group = group,
    buffer = bufnr,
    callback = function()
      on_complete_done(bufnr, client)
    end,
  })
  -- Automatic suggestions: ask once the user pauses typing (Hearth has no trigger characters).
  local timer = idle_timers[bufnr] or assert(vim.uv.new_timer())
  idle_timers[bufnr] = timer
  vim.api.nvim_create_autocmd('TextChangedI', {
    group = group,
    buffer = bufnr,
    callback = function()
      timer:stop()
      if not M.auto then
        return
      end
      timer:start(300, 0, vim.schedule_wrap(function()
        if vim.api.nvim_get_current_buf() == bufnr and vim.fn.mode() == 'i' and vim.fn.pumvisible() == 0 then
          M.complete(false)
        end
      end))
    end,
  })
  vim.api.nvim_create_autocmd('InsertLeave', {
    group = group,
    buffer = bufnr,
    callback = function()
      timer:stop()
    end,
  })
  vim.api.nvim_create_autocmd('BufUnload', {
    group = group,
    buffer = bufnr,
    callback = function()
      idle_timers[bufnr] = nil
      timer:close()
    end,
  })
  local key = M.config.keys.trigger
  if key then
    vim.keymap.set('i', key, function()
      M.complete(true)
    end, { buffer = bufnr, desc = 'Hearth: suggest' })
  end
  map_accept(bufnr)
end

-- 0.12: ghost text ---------------------------------------------------------------------------------

---@param bufnr integer
---@param client vim.lsp.Client
local function attach_inline(bufnr, client)
  -- The capability attaches once this LspAttach is over (see vim/lsp/client.lua), so enabling for
  -- the buffer here covers the client that is attaching.
  vim.lsp.inline_completion.enable(true, { bufnr = bufnr })
  if not M.auto then
    vim.lsp.inline_completion.enable(false, { client_id = client.id })
  end
  map_accept(bufnr)
end

---@param bufnr integer
---@param client vim.lsp.Client
local function on_attach(bufnr, client)
  if use_inline() and client:supports_method('textDocument/inlineCompletion') then
    attach_inline(bufnr, client)
  else
    attach_completion_items(bufnr, client)
  end
end

-- Commands ---------------------------------------------------------------------------------------

--- Turns automatic suggestions on or off (nil: flip).
---@param on? boolean
function M.toggle(on)
  if on == nil then
    on = not M.auto
  end
  M.auto = on
  if use_inline() then
    for _, client in ipairs(M.clients()) do
      vim.lsp.inline_completion.enable(on, { client_id = client.id })
    end
  end
  notify('automatic suggestions ' .. (on and 'on' or 'off'))
end

--- Rewrites a range of the current buffer following `instruction` (`hearth.rewrite`); the server
--- applies the edit with `workspace/applyEdit`. `range` is 0-based `{ start = {row, col},
--- ['end'] = {row, col} }` with byte columns, end exclusive; default: the current line.
---@param instruction string
---@param range? { start: integer[], ['end']: integer[] }
---@param callback? fun(err: lsp.ResponseError?)
function M.rewrite(instruction, range, callback)
  vim.validate('instruction', instruction, 'string')
  vim.validate('range', range, 'table', true)
  vim.validate('callback', callback, 'function', true)
  local bufnr = vim.api.nvim_get_current_buf()
  local client = M.clients(bufnr)[1]
  if not client then
    notify('not attached to this buffer', vim.log.levels.WARN)
    return
  end
  if not range then
    local row = vim.api.nvim_win_get_cursor(0)[1] - 1
    local line = vim.api.nvim_buf_get_lines(bufnr, row, row + 1, true)[1]
    range = { start = { row, 0 }, ['end'] = { row, #line } }
  end
  local function position(pos)
    local character = pos[2] > 0 and vim.lsp.util.character_offset(bufnr, pos[1], pos[2], client.offset_encoding) or 0
    return { line = pos[1], character = character }
  end
  local args = {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = { start = position(range.start), ['end'] = position(range['end']) },
    instruction = instruction,
  }
  notify('rewriting…')
  client:request('workspace/executeCommand', { command = 'hearth.rewrite', arguments = { args } }, function(err)
    if err then
      notify('rewrite failed: ' .. err.message, vim.log.levels.ERROR)
    else
      notify('rewrite done')
    end
    if callback then
      callback(err)
    end
  end, bufnr)
end

--- `:HearthRewrite [instruction]` over a range (visual selection, `:%`, ...), or the current line.
local function rewrite_command(cmd)
  local range
  if cmd.range > 0 then
    local first, last = cmd.line1 - 1, cmd.line2 - 1
    local last_line = vim.api.nvim_buf_get_lines(0, last, last + 1, true)[1]
    range = { start = { first, 0 }, ['end'] = { last, #last_line } }
    -- A characterwise visual selection on exactly these lines: use its columns.
    local vs, ve = vim.fn.getpos("'<"), vim.fn.getpos("'>")
    if vim.fn.visualmode() == 'v' and vs[2] == cmd.line1 and ve[2] == cmd.line2 then
      local end_line = vim.api.nvim_buf_get_lines(0, ve[2] - 1, ve[2], true)[1]
      local end_col = math.min(ve[3], #end_line) -- '> is inclusive and may be past the end ($)
      -- Include the whole last character (it may be several bytes).
      if end_col > 0 then
        end_col = vim.str_utf_end(end_line, end_col) + end_col
      end
      range = { start = { vs[2] - 1, vs[3] - 1 }, ['end'] = { ve[2] - 1, end_col } }
    end
  end
  local function run(instruction)
    if instruction and vim.trim(instruction) ~= '' then
      M.rewrite(vim.trim(instruction), range)
    end
  end
  if cmd.args ~= '' then
    run(cmd.args)
  else
    vim.ui.input({ prompt = 'Hearth: rewrite how? ' }, run)
  end
end

--- Prints the server's state (`:HearthStatus`).
function M.show_status()
  local clients = M.clients()
  if #clients == 0 then
    notify('not running (open a file of a configured filetype)')
    return
  end
  for _, client in ipairs(clients) do
    M.request_status(client, function(status)
      local model = status and status.model or {}
      local msg = ('server %s, model %s%s'):format(
        status and status.version or '?',
        model.state or 'unknown',
        model.path and (' (' .. model.path .. ')') or ''
      )
      local stats = status and status.completion
      if type(stats) == 'table' and stats.answered then
        msg = msg .. (', %d suggestions answered'):format(stats.answered)
        if type(stats.lastLatencyMs) == 'number' then
          msg = msg .. (', last in %d ms'):format(stats.lastLatencyMs)
        end
      end
      notify(msg)
    end)
  end
end

local function create_commands()
  vim.api.nvim_create_user_command('HearthToggle', function(cmd)
    local arg = cmd.args
    M.toggle(arg == 'on' or (arg ~= 'off' and nil))
  end, {
    nargs = '?',
    complete = function()
      return { 'on', 'off' }
    end,
    desc = 'Hearth: automatic suggestions on/off',
  })
  vim.api.nvim_create_user_command('HearthRewrite', rewrite_command, {
    nargs = '*',
    range = true,
    desc = 'Hearth: rewrite the selection (or line) following an instruction',
  })
  vim.api.nvim_create_user_command('HearthStatus', M.show_status, { desc = 'Hearth: server and model state' })
end

-- Setup ------------------------------------------------------------------------------------------

--- The command that starts the server, from `opts.cmd`.
---@return string[]
function M.cmd()
  local cmd = (M.config or defaults).cmd
  return type(cmd) == 'string' and { cmd } or cmd
end

---@param opts? hearth.Opts
function M.setup(opts)
  if vim.fn.has('nvim-0.11') == 0 then
    notify('needs Neovim 0.11 or newer', vim.log.levels.ERROR)
    return
  end
  vim.validate('opts', opts, 'table', true)
  opts = opts or {}
  vim.validate('opts.cmd', opts.cmd, { 'table', 'string' }, true)
  vim.validate('opts.cmd_env', opts.cmd_env, 'table', true)
  vim.validate('opts.filetypes', opts.filetypes, 'table', true)
  vim.validate('opts.root_markers', opts.root_markers, 'table', true)
  vim.validate('opts.settings', opts.settings, 'table', true)
  vim.validate('opts.inline', opts.inline, 'boolean', true)
  vim.validate('opts.auto', opts.auto, 'boolean', true)
  vim.validate('opts.keys', opts.keys, 'table', true)
  vim.validate('opts.notify', opts.notify, 'boolean', true)

  local config = vim.tbl_deep_extend('force', defaults, opts)
  -- Lists replace the defaults rather than merging index by index.
  config.filetypes = opts.filetypes or defaults.filetypes
  config.cmd = opts.cmd or defaults.cmd
  config.root_markers = opts.root_markers or defaults.root_markers
  M.config = config
  M.auto = config.auto
  local cmd = M.cmd()

  local settings = vim.deepcopy(config.settings)
  if not use_inline() and M.has_inline() then
    -- Ghost text turned off on 0.12+: this Neovim still declares inline completion, so ask the
    -- server for completion items explicitly (0.11 gets them by default).
    settings.completion = settings.completion or vim.empty_dict()
    if settings.completion.completionItems == nil then
      settings.completion.completionItems = 'always'
    end
  end
  -- An empty Lua table would be sent as a JSON array; Hearth expects an object.
  if next(settings) == nil then
    settings = vim.empty_dict()
  end

  create_commands()

  if vim.fn.executable(cmd[1]) == 0 then
    notify(
      ('the server `%s` was not found; install it (cargo build --release -p hearth) and put it on '
        .. "PATH, or pass setup({ cmd = { '/path/to/hearth' } }). See :checkhealth hearth"):format(cmd[1]),
      vim.log.levels.WARN
    )
    return
  end

  vim.lsp.config(M.name, {
    cmd = cmd,
    cmd_env = config.cmd_env,
    filetypes = config.filetypes,
    root_markers = config.root_markers,
    settings = { hearth = settings },
    init_options = settings,
    handlers = { ['hearth/modelStatus'] = on_model_status },
  })

  local group = vim.api.nvim_create_augroup('hearth', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == M.name then
        on_attach(ev.buf, client)
      end
    end,
  })
  vim.api.nvim_create_autocmd('LspDetach', {
    group = group,
    callback = function(ev)
      local client = vim.lsp.get_client_by_id(ev.data.client_id)
      if client and client.name == M.name then
        pcall(vim.api.nvim_del_augroup_by_name, 'hearth.completion.' .. ev.buf)
      end
    end,
  })

  vim.lsp.enable(M.name)
end

return M
