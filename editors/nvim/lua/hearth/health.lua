--- `:checkhealth hearth`: Neovim version, the server binary, the model, the running server.

local M = {}

local health = vim.health

--- The model file the server will look for, resolved the way it does: the `model.path` setting,
--- else `$HEARTH_MODEL`, else the default model in `$XDG_CACHE_HOME` or `~/.cache`.
---@param settings table
---@return string path, string source
local function expected_model_path(settings)
  local path = vim.tbl_get(settings or {}, 'model', 'path')
  if type(path) == 'string' and path ~= '' then
    return vim.fs.normalize(path), 'the model.path setting'
  end
  if vim.env.HEARTH_MODEL and vim.env.HEARTH_MODEL ~= '' then
    return vim.fs.normalize(vim.env.HEARTH_MODEL), '$HEARTH_MODEL'
  end
  local cache = (vim.env.XDG_CACHE_HOME and vim.env.XDG_CACHE_HOME ~= '') and vim.env.XDG_CACHE_HOME
    or vim.fs.normalize('~/.cache')
  return cache .. '/hearth/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf', 'the default model cache'
end

---@param hearth table the `hearth` module
local function check_binary(hearth)
  local cmd = hearth.cmd()
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(('server binary `%s` not found'):format(cmd[1]), {
      'Build it: cargo build --release -p hearth (then target/release/hearth)',
      "Put it on PATH, or pass require('hearth').setup({ cmd = { '/path/to/hearth' } })",
    })
    return false
  end
  local ok, out = pcall(function()
    return vim.system({ exe, '--version' }, { text = true }):wait(5000)
  end)
  if ok and out.code == 0 then
    health.ok(('server binary: %s (%s)'):format(exe, vim.trim(out.stdout)))
    return true
  end
  health.error(('server binary %s does not run: %s'):format(exe, ok and vim.trim(out.stderr or '') or out))
  return false
end

---@param model { state: string, path: string?, message: string? }
local function report_model(model)
  local where = model.path and (' (' .. model.path .. ')') or ''
  local message = model.message and (': ' .. model.message) or ''
  if model.state == 'ready' then
    health.ok('model ready' .. where .. message)
  elseif model.state == 'loading' then
    health.warn('model still loading' .. where .. message, 'Wait a few seconds and run :checkhealth hearth again')
  elseif model.state == 'disabled' then
    health.warn('model disabled' .. message, 'Set model.enabled = true in settings to get suggestions')
  else
    health.error('model failed to load' .. where .. message, {
      'Install the default model: scripts/fetch-model (in the Hearth repository)',
      'Or set settings = { model = { path = "/path/to/model.gguf" } }',
    })
  end
end

---@param hearth table
---@param client vim.lsp.Client
local function check_client(hearth, client)
  local buffers = vim.tbl_count(client.attached_buffers)
  health.ok(('server running (client id %d, %d buffer(s) attached, root %s)'):format(
    client.id,
    buffers,
    client.root_dir or 'none: single file'
  ))
  local feature = client:supports_method('textDocument/inlineCompletion') and hearth.has_inline() and 'ghost text (inline completion)'
    or client:supports_method('textDocument/completion') and 'completion items'
    or 'none'
  health.info('suggestions shown as: ' .. feature .. (hearth.auto and '' or ' (automatic suggestions off)'))

  local response, err = client:request_sync('hearth/status', nil, 3000)
  local status = response and response.result
  if status then
    health.info('server version ' .. tostring(status.version))
    report_model(status.model)
    local stats = status.completion
    if type(stats) == 'table' and stats.answered then
      health.info(('suggestions answered: %d (model %d, cache %d, empty %d)'):format(
        stats.answered, stats.fromModel or 0, stats.fromCache or 0, stats.empty or 0))
    end
    return
  end
  -- Older servers have no hearth/status: use the last hearth/modelStatus notification.
  local why = response and response.err and response.err.message or err or 'no answer'
  local model = hearth.model_status[client.id]
  if model then
    report_model(model)
    health.info('hearth/status unavailable (' .. why .. '); model state from the last hearth/modelStatus')
  else
    health.warn('model state unknown: no hearth/modelStatus received and hearth/status failed: ' .. why)
  end
end

function M.check()
  local hearth = require('hearth')

  health.start('Neovim')
  local v = vim.version()
  local version = ('%d.%d.%d'):format(v.major, v.minor, v.patch)
  if vim.fn.has('nvim-0.11') == 0 then
    health.error('Neovim ' .. version .. ' is too old: Hearth needs 0.11 or newer')
    return
  elseif hearth.has_inline() then
    health.ok('Neovim ' .. version .. ': ghost text (vim.lsp.inline_completion)')
  else
    health.ok('Neovim ' .. version .. ': suggestions as completion items (ghost text needs 0.12)')
  end
  if not hearth.config then
    health.error("setup() was not called", "Add require('hearth').setup({}) to your config")
    return
  end

  health.start('Server binary')
  check_binary(hearth)

  health.start('Model')
  local clients = hearth.clients()
  local path, source = expected_model_path(hearth.config.settings)
  if vim.uv.fs_stat(path) then
    health.ok(('model file %s (from %s)'):format(path, source))
  elseif #clients == 0 then
    health.warn(('model file %s (from %s) not found'):format(path, source), {
      'Install the default model: scripts/fetch-model (in the Hearth repository)',
    })
  else
    health.info(('no model file at %s (from %s); the running server reports its own below'):format(path, source))
  end

  health.start('Server')
  if #clients == 0 then
    health.info(('not running: it starts when a buffer of these filetypes opens: %s'):format(
      table.concat(hearth.config.filetypes, ', ')))
    return
  end
  for _, client in ipairs(clients) do
    check_client(hearth, client)
  end
end

return M
