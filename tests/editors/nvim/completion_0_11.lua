-- Neovim 0.11 (no inline completion): Hearth's suggestion as a completion item, asked for with the
-- plugin's trigger key or automatically, and accepted with the plugin's <Tab>; :HearthRewrite; :checkhealth.
-- Run: nvim --headless --clean -c 'luafile tests/editors/nvim/completion_0_11.lua' (see ./run)
local T = dofile(vim.env.HEARTH_REPO .. '/tests/editors/nvim/common.lua')
local api = vim.api

local SOURCE = {
  'struct Point {',
  '    x: f64,',
  '    y: f64,',
  '}',
  '',
  'impl Point {',
  '    fn new(x: f64, y: f64) -> Self {',
  '        Point { x, y }',
  '    }',
  '',
  '    fn distance(&self, other: &Point) -> f64 {',
  '        let dx = self.x - other.x;',
  '        let dy =',
  '    }',
  '}',
}
local CURSOR_LINE = 13 -- `let dy =`
local REWRITE_LINE = 12 -- `let dx = ...`

local function keys(s)
  return api.nvim_replace_termcodes(s, true, false, true)
end

local function hearth_items(client)
  local info = vim.fn.complete_info({ 'items', 'pum_visible' })
  local items = vim.tbl_filter(function(item)
    return vim.tbl_get(item, 'user_data', 'nvim', 'lsp', 'client_id') == client.id
  end, info.items or {})
  return #items > 0 and items or nil
end

T.run(function()
  T.check(vim.lsp.inline_completion == nil, 'this Neovim has inline completion; the 0.11 test needs one without')
  local hearth = T.setup_plugin({})

  local path = T.write_file('point.rs', SOURCE)
  vim.cmd.edit(vim.fn.fnameescape(path))
  local bufnr = api.nvim_get_current_buf()
  T.check(vim.bo[bufnr].filetype == 'rust', 'filetype is ' .. vim.bo[bufnr].filetype)
  local client = T.wait_ready(hearth, bufnr, 90)
  T.check(client.server_capabilities.completionProvider,
    'the server does not offer completion items to a client without inline completion')
  T.check(not client.server_capabilities.inlineCompletionProvider, 'the server advertises inline completion')

  -- 1. Automatic: type a space at the end of the half-written line and pause, as a user would.
  api.nvim_win_set_cursor(0, { CURSOR_LINE, 0 })
  local t = vim.uv.now()
  api.nvim_feedkeys('A', 'n', false)
  T.wait_for('insert mode', 5, function()
    return api.nvim_get_mode().mode == 'i'
  end)
  api.nvim_feedkeys(' ', 'nt', false)
  T.wait_for('the space to be typed', 5, function()
    return api.nvim_get_current_line():sub(-1) == ' '
  end)
  local before = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local line = before[CURSOR_LINE]
  local items = T.wait_for("Hearth's completion item", 120, function()
    return hearth_items(client)
  end)
  local item = items[1].user_data.nvim.lsp.completion_item
  T.check(vim.fn.pumvisible() == 1, 'the completion menu is not visible')
  T.check(item.textEdit and type(item.textEdit.newText) == 'string' and item.textEdit.newText ~= '',
    'the item has no textEdit: ' .. vim.inspect(item))
  T.pass('completion item (automatic)', ('label %q, newText %q, after %.1fs'):format(item.label,
    item.textEdit.newText, (vim.uv.now() - t) / 1000))
  local range = item.textEdit.range
  T.check(range.start.line == CURSOR_LINE - 1 and range['end'].line == CURSOR_LINE - 1
    and range['end'].character == #line, 'the textEdit does not end at the cursor: ' .. vim.inspect(range))

  -- Accept it with the plugin's <Tab> (it selects Hearth's item in the menu and confirms).
  api.nvim_feedkeys(keys('<Tab>'), 'm', false)
  local want = vim.list_slice(before, 1, CURSOR_LINE - 1)
  vim.list_extend(want, vim.split(line:sub(1, range.start.character) .. item.textEdit.newText, '\n', { plain = true }))
  vim.list_extend(want, vim.list_slice(before, CURSOR_LINE + 1))
  T.wait_for('the item to be inserted', 10, function()
    return vim.deep_equal(api.nvim_buf_get_lines(bufnr, 0, -1, false), want)
  end)
  local after = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  T.pass('accepted with <Tab>', ('lines %d-%d now:\n%s'):format(CURSOR_LINE, CURSOR_LINE + #after - #before,
    table.concat(vim.list_slice(after, CURSOR_LINE, CURSOR_LINE + #after - #before), '\n')))
  api.nvim_feedkeys(keys('<Esc>'), 'n', false)
  T.wait_for('normal mode', 5, function()
    return api.nvim_get_mode().mode == 'n'
  end)

  -- 1a. With automatic suggestions off (:HearthToggle), the trigger key still asks for one.
  vim.cmd('HearthToggle')
  T.check(hearth.auto == false, ':HearthToggle did not turn automatic suggestions off')
  local saved = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  api.nvim_feedkeys('o', 'n', false)
  T.wait_for('insert mode', 5, function()
    return api.nvim_get_mode().mode == 'i'
  end)
  t = vim.uv.now()
  api.nvim_feedkeys(keys('<C-Space>'), 'm', false)
  items = T.wait_for("Hearth's completion item after <C-Space>", 120, function()
    return hearth_items(client)
  end)
  item = items[1].user_data.nvim.lsp.completion_item
  T.pass('completion item (<C-Space>)', ('label %q after %.1fs'):format(item.label, (vim.uv.now() - t) / 1000))
  api.nvim_feedkeys(keys('<C-e><Esc>'), 'n', false)
  T.wait_for('normal mode', 5, function()
    return api.nvim_get_mode().mode == 'n'
  end)
  api.nvim_buf_set_lines(bufnr, 0, -1, false, saved)
  vim.cmd('HearthToggle on')

  -- 1b. (Plugin only, no model.) Neovim 0.11 inserts one line of a completion item; the plugin
  -- adds the rest of a multi-line suggestion on CompleteDone. Hearth's real items above were one
  -- line, so check that path with an item of the same shape.
  local n = #api.nvim_buf_get_lines(bufnr, 0, -1, false)
  api.nvim_win_set_cursor(0, { n, 0 })
  api.nvim_feedkeys('o', 'n', false)
  T.wait_for('insert mode', 5, function()
    return api.nvim_get_mode().mode == 'i'
  end)
  local multi = 'fn main() {\n    println!("{}", 1);\n}'
  local lsp_item = {
    label = 'fn main() {',
    textEdit = { newText = multi, range = { start = { line = n, character = 0 }, ['end'] = { line = n, character = 0 } } },
  }
  vim.fn.complete(1, { {
    word = 'fn main() {',
    user_data = { nvim = { lsp = { client_id = client.id, completion_item = lsp_item } } },
  } })
  api.nvim_feedkeys(keys('<Tab>'), 'm', false)
  local tail = T.wait_for('the multi-line item', 5, function()
    local now = api.nvim_buf_get_lines(bufnr, n, -1, false)
    return #now == 3 and now
  end)
  T.check(table.concat(tail, '\n') == multi, 'multi-line item inserted as:\n' .. table.concat(tail, '\n'))
  local crow, ccol = unpack(api.nvim_win_get_cursor(0))
  T.check(crow == n + 3 and ccol == 1, ('cursor at %d:%d after the multi-line item'):format(crow, ccol))
  T.pass('multi-line item (plugin only)', 'inserted in full, cursor at its end')
  api.nvim_feedkeys(keys('<Esc>'), 'n', false)
  T.wait_for('normal mode', 5, function()
    return api.nvim_get_mode().mode == 'n'
  end)
  api.nvim_buf_set_lines(bufnr, n, -1, false, {})

  -- 2. :HearthRewrite on one line, with the instruction as the argument.
  local lines_before = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local done = false
  local orig_notify = vim.notify
  vim.notify = function(msg, level)
    done = done or msg == 'Hearth: rewrite done' or msg:match('^Hearth: rewrite failed') and msg
    return orig_notify(msg, level)
  end
  t = vim.uv.now()
  vim.cmd(REWRITE_LINE .. 'HearthRewrite rename the variable dx to delta_x')
  T.wait_for('the rewrite', 150, function()
    return done
  end)
  T.check(done == true, tostring(done))
  local rewritten = api.nvim_buf_get_lines(bufnr, 0, -1, false)
  local added = #rewritten - #lines_before
  T.check(vim.deep_equal(vim.list_slice(rewritten, 1, REWRITE_LINE - 1), vim.list_slice(lines_before, 1, REWRITE_LINE - 1))
    and vim.deep_equal(vim.list_slice(rewritten, REWRITE_LINE + 1 + added), vim.list_slice(lines_before, REWRITE_LINE + 1)),
    'the rewrite changed text outside its range:\n' .. table.concat(rewritten, '\n'))
  local new_text = table.concat(vim.list_slice(rewritten, REWRITE_LINE, REWRITE_LINE + added), '\n')
  T.check(new_text:find('delta_x', 1, true), 'the rewritten line has no delta_x: ' .. new_text)
  T.pass(':HearthRewrite', ('%q -> %q after %.1fs'):format(lines_before[REWRITE_LINE], new_text,
    (vim.uv.now() - t) / 1000))

  -- 3. :checkhealth hearth.
  local health = T.checkhealth()
  T.check_health_ok(health, { 'server binary: ', 'model ready', 'server running', 'completion items' })
end)
