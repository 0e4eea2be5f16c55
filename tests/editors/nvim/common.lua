-- Shared helpers for the headless Neovim tests (loaded with dofile by each test).
--
-- A test is a function run as a coroutine: `T.sleep` / `T.wait_for` yield to Neovim's event loop
-- (timers), so insert mode, key mappings, LSP responses and autocommands all run for real between
-- steps, and the test still reads top to bottom. Any error or failed check prints FAIL and exits
-- with status 1; a global timeout guarantees the process ends.
--
-- Environment (set by tests/editors/nvim/run):
--   HEARTH_REPO       repository root (the plugin is editors/nvim)
--   HEARTH_TEST_DIR   an empty directory for the test's files
--   HEARTH_TEST_TIMEOUT  seconds before the whole test gives up (default 240)

local T = {}
local uv = vim.uv

T.repo = assert(vim.env.HEARTH_REPO, 'HEARTH_REPO is not set')
T.dir = vim.env.HEARTH_TEST_DIR or vim.fn.tempname()
vim.fn.mkdir(T.dir, 'p')
T.t0 = uv.now()

function T.elapsed()
  return (uv.now() - T.t0) / 1000
end

function T.say(...)
  local parts = vim.tbl_map(tostring, { ... })
  io.stdout:write(('[%6.1fs] %s\n'):format(T.elapsed(), table.concat(parts, ' ')))
  io.stdout:flush()
end

local finished = false

function T.finish(ok)
  if finished then
    return
  end
  finished = true
  T.say(ok and 'RESULT PASS' or 'RESULT FAIL', ('total %.1fs'):format(T.elapsed()))
  -- Stop the server cleanly so its log is complete, then leave with the right status.
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop()
  end
  vim.wait(3000, function()
    return #vim.lsp.get_clients() == 0
  end, 50)
  vim.cmd(ok and 'qall!' or 'cquit! 1')
end

function T.fail(msg)
  T.say('FAIL', msg)
  error({ hearth_test_failure = true }, 0)
end

function T.pass(what, ...)
  T.say('PASS', what, ...)
end

--- Checks `cond`; on failure prints FAIL with `msg` and ends the test.
function T.check(cond, msg)
  if not cond then
    T.fail(msg)
  end
  return cond
end

--- Yields to the event loop for `ms` milliseconds.
function T.sleep(ms)
  local co = assert(coroutine.running(), 'T.sleep outside the test coroutine')
  vim.defer_fn(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      T._crash(err)
    end
  end, ms)
  coroutine.yield()
end

--- Polls `pred` every 50 ms until it returns a truthy value (returned) or `timeout_s` passes.
function T.wait_for(what, timeout_s, pred)
  local deadline = uv.now() + timeout_s * 1000
  while true do
    local ok, value = pcall(pred)
    if not ok and type(value) == 'table' and value.hearth_test_failure then
      error(value, 0) -- a check inside `pred` failed: end the test
    end
    if ok and value then
      return value
    end
    if uv.now() > deadline then
      T.fail(('timed out after %ds waiting for %s%s'):format(timeout_s, what, ok and '' or (' (' .. tostring(value) .. ')')))
    end
    T.sleep(50)
  end
end

function T._crash(err)
  if type(err) ~= 'table' or not err.hearth_test_failure then
    T.say('FAIL', 'error: ' .. tostring(err))
  end
  T.finish(false)
end

--- Writes `lines` to `name` in the test directory; returns the path.
function T.write_file(name, lines)
  local path = T.dir .. '/' .. name
  vim.fn.writefile(lines, path)
  return path
end

--- Adds the plugin to 'runtimepath' and calls setup with `opts`.
function T.setup_plugin(opts)
  vim.opt.runtimepath:prepend(T.repo .. '/editors/nvim')
  local hearth = require('hearth')
  hearth.setup(opts or {})
  return hearth
end

--- Waits for Hearth to attach to `bufnr` and its model to be ready; returns the client.
function T.wait_ready(hearth, bufnr, timeout_s)
  local client = T.wait_for('Hearth to attach', 30, function()
    local c = hearth.clients(bufnr)[1]
    return c and c.initialized and c
  end)
  T.pass('attached', ('client %d, server %s'):format(client.id, vim.inspect(client.server_info)))
  local t = uv.now()
  local state
  T.wait_for('the model to be ready', timeout_s, function()
    local status = hearth.model_status[client.id]
    state = status and status.state
    if state == 'error' or state == 'disabled' then
      T.fail('model ' .. state .. ': ' .. tostring(status.message))
    end
    return state == 'ready'
  end)
  T.pass('model ready', ('after %.1fs (%s)'):format((uv.now() - t) / 1000, hearth.model_status[client.id].path))
  return client
end

--- Runs `:checkhealth hearth` and returns its lines.
function T.checkhealth()
  local tabs = #vim.api.nvim_list_tabpages()
  vim.cmd('silent checkhealth hearth')
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
  -- Close the report (a new tab, or a buffer in the current window, by version and settings).
  if #vim.api.nvim_list_tabpages() > tabs then
    vim.cmd('tabclose')
  else
    vim.cmd('bwipeout!')
  end
  return lines
end

--- Asserts the health report has an OK line matching each pattern.
function T.check_health_ok(lines, patterns)
  for _, pattern in ipairs(patterns) do
    local found
    for _, line in ipairs(lines) do
      if line:find('OK', 1, true) and line:find(pattern) then
        found = line
        break
      end
    end
    T.check(found, 'checkhealth has no OK line for ' .. pattern .. ':\n' .. table.concat(lines, '\n'))
    T.pass('checkhealth', vim.trim(found))
  end
  for _, line in ipairs(lines) do
    T.check(not line:find('ERROR'), 'checkhealth reports an error: ' .. line)
  end
end

--- Runs `body` as the test, with a global timeout.
function T.run(body)
  -- Keep the output readable: messages go through T.say, no mode message.
  vim.o.showmode = false
  vim.opt.shortmess:append('c')
  vim.notify = function(msg, level)
    T.say(('notify[%s]'):format(level or 'info'), msg)
  end
  local timeout_s = tonumber(vim.env.HEARTH_TEST_TIMEOUT) or 240
  vim.defer_fn(function()
    T.say('FAIL', ('global timeout (%ds)'):format(timeout_s))
    T.finish(false)
  end, timeout_s * 1000)
  T.say('nvim', tostring(vim.version()), 'dir', T.dir)
  local co = coroutine.create(function()
    body()
    T.finish(true)
  end)
  -- Start from the event loop, after startup is complete.
  vim.schedule(function()
    local ok, err = coroutine.resume(co)
    if not ok then
      T._crash(err)
    end
  end)
end

return T
