-- Neovim 0.12: Hearth's ghost text, accepted with the plugin's <Tab>; a code action; :checkhealth.
-- Run: nvim --headless --clean -c 'luafile tests/editors/nvim/inline_0_12.lua' (see ./run)
local T = dofile(vim.env.HEARTH_REPO .. '/tests/editors/nvim/common.lua')
local api = vim.api

local SOURCE = {
  'import math',
  '',
  '',
  'def circle_area(radius):',
  '    return math.pi * radius ** 2',
  '',
  '',
  'def fibonacci(n):',
  '    if n < 2:',
  '        return n',
  '    return fibonacci(n - 1) +',
  '',
  '',
  'def main():',
  '    print(circle_area(2.0), fibonacci(10))',
}
local CURSOR_LINE = 11 -- the half-written return
local FUNCTION_LINE = 4 -- def circle_area

--- The ghost text on the buffer, as the text it would insert (virt_text + virt_lines).
local function ghost_text(bufnr)
  local ns = api.nvim_get_namespaces()['nvim.lsp.inline_completion']
  if not ns then
    return nil
  end
  local marks = api.nvim_buf_get_extmarks(bufnr, ns, 0, -1, { details = true })
  local mark = marks[1]
  if not mark then
    return nil
  end
  local function join(chunks)
    return table.concat(vim.tbl_map(function(c)
      return c[1]
    end, chunks or {}))
  end
  local lines = { join(mark[4].virt_text) }
  for _, virt_line in ipairs(mark[4].virt_lines or {}) do
    table.insert(lines, join(virt_line))
  end
  return { row = mark[2], col = mark[3], text = table.concat(lines, '\n') }
end

T.run(function()
  T.check(vim.lsp.inline_completion ~= nil, 'this Neovim has no vim.lsp.inline_completion')

  -- 0. A missing binary: a clear message, and :checkhealth says what to do.
  local messages = {}
  local say_notify = vim.notify
  vim.notify = function(msg, level)
    table.insert(messages, msg)
    say_notify(msg, level)
  end
  T.setup_plugin({ cmd = { 'hearth-not-installed' } })
  vim.notify = say_notify
  T.check(#messages == 1 and messages[1]:find('`hearth-not-installed` was not found', 1, true),
    'no clear message for a missing binary: ' .. vim.inspect(messages))
  local report = table.concat(T.checkhealth(), '\n')
  T.check(report:find('ERROR server binary `hearth-not-installed` not found', 1, true),
    'checkhealth does not report the missing binary:\n' .. report)
  T.pass('missing binary', 'reported by setup() and :checkhealth')

  local hearth = T.setup_plugin({})

  local path = T.write_file('fib.py', SOURCE)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = api.nvim_get_current_buf()
  T.check(vim.bo[bufnr].filetype == 'python', 'filetype is ' .. vim.bo[bufnr].filetype)
  local client = T.wait_ready(hearth, bufnr, 90)
  T.check(client.server_capabilities.inlineCompletionProvider, 'the server does not advertise inline completion')
  T.check(not client.server_capabilities.completionProvider,
    'the server offers completion items to a client with inline completion')

  -- 1. Ghost text: enter insert mode at the end of the half-written line, as a user would.
  api.nvim_win_set_cursor(0, { CURSOR_LINE, 0 })
  local before = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local t = vim.uv.now()
  api.nvim_feedkeys('A', 'n', false)
  T.wait_for('insert mode', 5, function()
    return api.nvim_get_mode().mode == 'i'
  end)
  local ghost = T.wait_for("Hearth's ghost text", 120, function()
    local g = ghost_text(bufnr)
    return g and g.text ~= '' and g
  end)
  local ghost_s = (vim.uv.now() - t) / 1000
  T.pass('ghost text', ('%q at %d:%d after %.1fs'):format(ghost.text, ghost.row + 1, ghost.col, ghost_s))
  local cursor = api.nvim_win_get_cursor(0)
  T.check(cursor[1] - 1 == ghost.row and cursor[2] == ghost.col,
    ('ghost text at %d:%d, cursor at %d:%d'):format(ghost.row, ghost.col, cursor[1] - 1, cursor[2]))

  -- Accept with the documented key, through the plugin's mapping.
  api.nvim_feedkeys(api.nvim_replace_termcodes('<Tab>', true, false, true), 'm', false)
  local line = before[CURSOR_LINE]
  local expected = vim.split(line:sub(1, ghost.col) .. ghost.text .. line:sub(ghost.col + 1), '\n', { plain = true })
  local want = vim.list_slice(before, 1, CURSOR_LINE - 1)
  vim.list_extend(want, expected)
  vim.list_extend(want, vim.list_slice(before, CURSOR_LINE + 1))
  T.wait_for('the suggestion to be accepted', 10, function()
    return not vim.deep_equal(api.nvim_buf_get_lines(bufnr, 0, -1, false), before)
  end)
  local after = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  T.check(vim.deep_equal(after, want), ('buffer after <Tab>:\n%s\nexpected:\n%s'):format(
    table.concat(after, '\n'), table.concat(want, '\n')))
  local row, col = unpack(api.nvim_win_get_cursor(0))
  T.check(row == CURSOR_LINE + #expected - 1 and col == #expected[#expected] - #line:sub(ghost.col + 1),
    ('cursor %d:%d is not at the end of the inserted text'):format(row, col))
  T.pass('accepted with <Tab>', ('line %d is now %q'):format(CURSOR_LINE, after[CURSOR_LINE]))
  api.nvim_feedkeys(api.nvim_replace_termcodes('<Esc>', true, false, true), 'n', false)
  T.wait_for('normal mode', 5, function()
    return api.nvim_get_mode().mode == 'n'
  end)

  -- 2. :HearthToggle turns automatic suggestions off; <Tab> then falls back to itself.
  vim.cmd('HearthToggle')
  T.check(hearth.auto == false, ':HearthToggle did not turn automatic suggestions off')
  local blank = #after -- append an empty line at the end of main() and press <Tab> there
  api.nvim_win_set_cursor(0, { blank, 0 })
  api.nvim_feedkeys('o' .. api.nvim_replace_termcodes('<Tab>', true, false, true), 'm', false)
  T.sleep(500)
  local tab_line = api.nvim_buf_get_lines(bufnr, blank, blank + 1, false)[1]
  T.check(tab_line and tab_line:match('^%s+$') and not ghost_text(bufnr),
    ('<Tab> without a suggestion gave %q'):format(tostring(tab_line)))
  T.pass('<Tab> falls back with automatic suggestions off', ('%q'):format(tab_line))
  api.nvim_feedkeys(api.nvim_replace_termcodes('<Esc>', true, false, true), 'n', false)
  T.wait_for('normal mode', 5, function()
    return api.nvim_get_mode().mode == 'n'
  end)
  api.nvim_buf_set_lines(bufnr, blank, blank + 1, false, {})
  vim.cmd('HearthToggle on')
  T.check(hearth.auto == true, ':HearthToggle on did not turn automatic suggestions on')

  -- 3. A code action on a function, chosen and applied the way a user would.
  local lines_before = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  api.nvim_win_set_cursor(0, { FUNCTION_LINE, 4 })
  local params = vim.lsp.util.make_range_params(0, client.offset_encoding)
  params.context = { diagnostics = {} }
  local listed = client:request_sync('textDocument/codeAction', params, 5000, bufnr)
  local titles = vim.tbl_map(function(a)
    return a.title
  end, listed and listed.result or {})
  T.say('code actions:', table.concat(titles, ' | '))
  local title = 'Hearth: Document this function'
  T.check(vim.list_contains(titles, title), 'no "' .. title .. '" action')
  t = vim.uv.now()
  vim.lsp.buf.code_action({
    apply = true,
    filter = function(action)
      return action.title == title
    end,
  })
  local doc = T.wait_for('the documentation edit', 150, function()
    local now = api.nvim_buf_get_lines(bufnr, 0, -1, false)
    return not vim.deep_equal(now, lines_before) and now
  end)
  T.say('after the action:\n' .. table.concat(vim.list_slice(doc, FUNCTION_LINE - 1, FUNCTION_LINE + 8), '\n'))
  T.check(doc[FUNCTION_LINE] == lines_before[FUNCTION_LINE], 'the def line changed: ' .. tostring(doc[FUNCTION_LINE]))
  T.check(doc[FUNCTION_LINE + 1]:match('^%s+[rRuUbB]?"""') or doc[FUNCTION_LINE + 1]:match("^%s+'''"),
    'no docstring right after the def line: ' .. tostring(doc[FUNCTION_LINE + 1]))
  T.check(vim.list_contains(doc, lines_before[FUNCTION_LINE + 1]), 'the function body was lost')
  T.check(#doc > #lines_before, 'the buffer did not grow')
  T.pass('code action', ('%q applied after %.1fs, %d line(s) added'):format(title, (vim.uv.now() - t) / 1000,
    #doc - #lines_before))

  -- 4. :checkhealth hearth reports the binary and the model as OK.
  local health = T.checkhealth()
  T.check_health_ok(health, { 'server binary: ', 'model ready', 'server running' })
end)
