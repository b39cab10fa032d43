-- SPDX-License-Identifier: GPL-2.0
-- mini_tcp_checksum.lua: a Wireshark/tshark post-dissector that checks the
-- checksum of mini_tcp segments (IP protocol 253, TCP's header) with the
-- protocol number mini_tcp puts in the pseudo-header (253, not 6).  With
-- `-d ip.proto==253,tcp` Wireshark's TCP dissector decodes the segments, but
-- its own check (tcp.check_checksum) always uses 6 and calls them bad.
--
--   tshark -X lua_script:scripts/mini_tcp_checksum.lua -d ip.proto==253,tcp \
--          -r FILE.pcap -T fields -e mini_tcp.checksum.status
--
-- mini_tcp.checksum.status: "good" or "bad"; mini_tcp.checksum.calculated.
local p = Proto("mini_tcp", "mini_tcp checksum (IP protocol 253 pseudo-header)")
local f_status = ProtoField.string("mini_tcp.checksum.status", "Checksum status")
local f_calc = ProtoField.uint16("mini_tcp.checksum.calculated", "Calculated checksum",
                                 base.HEX)
p.fields = { f_status, f_calc }

local PROTO = 253
local ip_proto = Field.new("ip.proto")
local ip_src = Field.new("ip.src")
local ip_dst = Field.new("ip.dst")
local ip_hdr_len = Field.new("ip.hdr_len")
local ip_len = Field.new("ip.len")

local function sum16(tvb, off, len, acc)
        local i = 0
        while i + 1 < len do
                acc = acc + tvb(off + i, 2):uint()
                i = i + 2
        end
        if i < len then
                acc = acc + tvb(off + i, 1):uint() * 256
        end
        return acc
end

function p.dissector(tvb, pinfo, tree)
        local pr = ip_proto()
        if not pr or pr.value ~= PROTO then
                return
        end
        local src, dst = ip_src(), ip_dst()
        local hl, tl = ip_hdr_len().value, ip_len().value
        -- the IPv4 header is where ip.src sits, 12 bytes in
        local ipoff = src.offset - 12
        local seglen = tl - hl
        if ipoff < 0 or ipoff + tl > tvb:len() or seglen < 20 then
                return
        end
        local stored = tvb(ipoff + hl + 16, 2):uint()
        -- the one's complement sum without the checksum field (Lua 5.2:
        -- no bit operators, arithmetic folds)
        local acc = sum16(tvb, ipoff + 12, 8, 0) + PROTO + seglen
        acc = sum16(tvb, ipoff + hl, seglen, acc) - stored
        while acc > 0xffff do
                acc = acc % 0x10000 + math.floor(acc / 0x10000)
        end
        local calc = 0xffff - acc
        local t = tree:add(p, tvb(ipoff + hl + 16, 2))
        t:add(f_status, calc == stored and "good" or "bad")
        t:add(f_calc, calc)
end

register_postdissector(p)
