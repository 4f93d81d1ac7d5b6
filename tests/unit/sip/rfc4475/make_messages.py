"""Writes the RFC 4475 section 3 torture messages as ``<name>.dat`` files next to this script.

The messages are transcribed from the RFC text with its conventions applied: every line ends in
CRLF, <allOneLine> sections are joined, and <hex> octets (control characters, UTF-8, the binary
S/MIME part of mpart01) are written as Python byte escapes so the files are byte-exact.
Run ``python tests/unit/sip/rfc4475/make_messages.py`` to regenerate them.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent

SDP_TEMPLATE = (
    b"v=0\n"
    b"o=mhandley 29739 7272939 IN IP4 {o}\n"
    b"s=-\n"
    b"c=IN IP4 {c}\n"
    b"t={t} 0\n"
    b"m=audio 49217 RTP/AVP 0 12\n"
    b"m=video 3227 RTP/AVP 31\n"
    b"a=rtpmap:31 LPC\n"
)


def sdp(o: bytes, c: bytes | None = None, t: bytes = b"0") -> bytes:
    return SDP_TEMPLATE.replace(b"{o}", o).replace(b"{c}", c if c is not None else o).replace(b"{t}", t)


def crlf(text: bytes) -> bytes:
    return text.replace(b"\n", b"\r\n")


MESSAGES: dict[str, bytes] = {}

# 3.1.1.1 A Short Tortuous INVITE
MESSAGES["wsinv"] = crlf(
    b"INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0\n"
    b"TO :\n"
    b" sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n\n"
    b'from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\n'
    b"  ;\n"
    b"  tag = 98asjd8\n"
    b"MaX-fOrWaRdS: 0068\n"
    b"Call-ID: wsinv.ndaksdj@192.0.2.1\n"
    b"Content-Length   : 150\n"
    b"cseq: 0009\n"
    b"  INVITE\n"
    b"Via  : SIP  /   2.0\n"
    b" /UDP\n"
    b"    192.0.2.2;branch=390skdjuw\n"
    b"s :\n"
    b"NewFangledHeader:   newfangled value\n"
    b" continued newfangled value\n"
    b"UnknownHeaderWithUnusualValue: ;;,,;;,;\n"
    b"Content-Type: application/sdp\n"
    b"Route:\n"
    b" <sip:services.example.com;lr;unknownwith=value;unknown-no-value>\n"
    b"v:  SIP  / 2.0  / TCP     spindle.example.com   ;\n"
    b"  branch  =   z9hG4bK9ikj8  ,\n"
    b" SIP  /    2.0   / UDP  192.168.255.111   ; branch=\n"
    b" z9hG4bK30239\n"
    b'm:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\n'
    b"      newvalue ;\n"
    b"  secondparam ; q = 0.33\n"
    b"\n" + sdp(b"192.0.2.3", b"192.0.2.4")
)

# 3.1.1.2 Wide Range of Valid Characters
MESSAGES["intmeth"] = crlf(
    b"!interesting-Method0123456789_*+`.%indeed'~ "
    b"sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    b":&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0\n"
    b"Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~\n"
    b'To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" '
    b"<sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>\n"
    b"From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>"
    b";fromParam''~+*_!.-%="
    b'"\xd1\x80\xd0\xb0\xd0\xb1\xd0\xbe\xd1\x82\xd0\xb0\xd1\x8e\xd1\x89\xd0\xb8\xd0\xb9"'
    b";tag=_token~1'+`*%!-.\n"
    b"Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{\n"
    b"CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~\n"
    b"Max-Forwards: 255\n"
    b"extensionHeader-!.%*+_`'~:\xef\xbb\xbf\xe5\xa4\xa7\xe5\x81\x9c\xe9\x9b\xbb\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.1.1.3 Valid Use of the % Escaping Mechanism
MESSAGES["esc01"] = crlf(
    b"INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\n"
    b"To: sip:%75se%72@example.com\n"
    b"From: <sip:I%20have%20spaces@example.net>;tag=938\n"
    b"Max-Forwards: 87\n"
    b"i: esc01.239409asdfakjkn23onasd0-3234\n"
    b"CSeq: 234234 INVITE\n"
    b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw\n"
    b"C: application/sdp\n"
    b"Contact:\n"
    b"  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>\n"
    b"Content-Length: 150\n"
    b"\n" + sdp(b"192.0.2.1")
)

# 3.1.1.4 Escaped Nulls in URIs
MESSAGES["escnull"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"To: sip:null-%00-null@example.com\n"
    b"From: sip:null-%00-null@example.com;tag=839923423\n"
    b"Max-Forwards: 70\n"
    b"Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd\n"
    b"CSeq: 14398234 REGISTER\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
    b"Contact: <sip:%00@host5.example.com>\n"
    b"Contact: <sip:%00%00@host5.example.com>\n"
    b"L:0\n"
    b"\n"
)

# 3.1.1.5 Use of % When It Is Not an Escape
MESSAGES["esc02"] = crlf(
    b"RE%47IST%45R sip:registrar.example.com SIP/2.0\n"
    b'To: "%Z%45" <sip:resource@example.com>\n'
    b'From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23\n'
    b"Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf\n"
    b"Via: SIP/2.0/TCP host.example.com;branch=z9hG4bK209%fzsnel234\n"
    b"CSeq: 29344 RE%47IST%45R\n"
    b"Max-Forwards: 70\n"
    b"Contact: <sip:alias1@host1.example.com>\n"
    b"C%6Fntact: <sip:alias2@host2.example.com>\n"
    b"Contact: <sip:alias3@host3.example.com>\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.1.6 Message with No LWS between Display Name and <
MESSAGES["lwsdisp"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: caller<sip:caller@example.com>;tag=323\n"
    b"Max-Forwards: 70\n"
    b"Call-ID: lwsdisp.1234abcd@funky.example.com\n"
    b"CSeq: 60 OPTIONS\n"
    b"Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.1.7 Long Values in Header Fields
_vias = b"".join(
    line + b"\n"
    for line in (
        [b"Via: SIP/2.0/TCP sip33.example.com", b"v: SIP/2.0/TCP sip32.example.com"]
        + [b"V: SIP/2.0/TCP sip31.example.com", b"Via: SIP/2.0/TCP sip30.example.com"]
        + [b"ViA: SIP/2.0/TCP sip29.example.com", b"VIa: SIP/2.0/TCP sip28.example.com"]
        + [b"VIA: SIP/2.0/TCP sip27.example.com", b"via: SIP/2.0/TCP sip26.example.com"]
        + [b"viA: SIP/2.0/TCP sip25.example.com", b"vIa: SIP/2.0/TCP sip24.example.com"]
        + [b"vIA: SIP/2.0/TCP sip23.example.com", b"V :  SIP/2.0/TCP sip22.example.com"]
        + [b"v :  SIP/2.0/TCP sip21.example.com", b"V  : SIP/2.0/TCP sip20.example.com"]
        + [b"v  : SIP/2.0/TCP sip19.example.com", b"Via : SIP/2.0/TCP sip18.example.com"]
        + [b"Via  : SIP/2.0/TCP sip17.example.com"]
        + [b"Via: SIP/2.0/TCP sip%d.example.com" % n for n in range(16, 0, -1)]
    )
)
MESSAGES["longreq"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b'To: "I have a user name of ' + b"extreme" * 10 + b' proportion"<sip:user@example.com:6000;'
    b"unknownparam1=very" + b"long" * 20 + b"value;"
    b"longparam" + b"name" * 25 + b"=shortvalue;"
    b"very" + b"long" * 25 + b"ParameterNameWithNoValue>\n"
    b"F: sip:" + b"amazinglylongcallername" * 5 + b"@example.net;tag=12" + b"982" * 50 + b"424"
    b";unknownheaderparam"
    + b"name" * 20
    + b"=unknowheaderparam"
    + b"value" * 15
    + b";unknownValueless"
    + b"paramname" * 10
    + b"\n"
    b"Call-ID: longreq.one" + b"really" * 20 + b"longcallid\n"
    b"CSeq: 3882340 INVITE\n"
    b"Unknown-"
    + b"Long" * 20
    + b"-Name:unknown-"
    + b"long" * 20
    + b"-value;unknown-"
    + b"long" * 20
    + b"-parameter-name =unknown-"
    + b"long" * 20
    + b"-parameter-value\n"
    + _vias
    + b"Via: SIP/2.0/TCP host.example.com;received=192.0.2.5;branch=very"
    + b"long" * 50
    + b"branchvalue\n"
    b"Max-Forwards: 70\n"
    b"Contact: <sip:" + b"amazinglylongcallername" * 5 + b"@host5.example.net>\n"
    b"Content-Type: application/sdp\n"
    b"l: 150\n"
    b"\n" + sdp(b"192.0.2.1")
)

# 3.1.1.8 Extra Trailing Octets in a UDP Datagram
MESSAGES["dblreq"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:j.user@example.com;tag=43251j3j324\n"
    b"Max-Forwards: 8\n"
    b"I: dblreq.0ha0isndaksdj99sdfafnl3lk233412\n"
    b"Contact: sip:j.user@host.example.com\n"
    b"CSeq: 8 REGISTER\n"
    b"Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492\n"
    b"Content-Length: 0\n"
    b"\n"
    b"INVITE sip:joe@example.com SIP/2.0\n"
    b"t: sip:joe@example.com\n"
    b"From: sip:caller@example.net;tag=141334\n"
    b"Max-Forwards: 8\n"
    b"Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\n"
    b"CSeq: 8 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 150\n"
    b"\n" + sdp(b"192.0.2.15").replace(b"m=video", b"m =video")
)

# 3.1.1.9 Semicolon-Separated Parameters in URI User Part
MESSAGES["semiuri"] = crlf(
    b"OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0\n"
    b"To: sip:j_user@example.com\n"
    b"From: sip:caller@example.org;tag=33242\n"
    b"Max-Forwards: 3\n"
    b"Call-ID: semiuri.0ha0isndaksdj\n"
    b"CSeq: 8 OPTIONS\n"
    b"Accept: application/sdp, application/pkcs7-mime,\n"
    b"        multipart/mixed, multipart/signed,\n"
    b"        message/sip, message/sipfrag\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.1.10 Varied and Unknown Transport Types
MESSAGES["transports"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: <sip:caller@example.com>;tag=323\n"
    b"Max-Forwards: 70\n"
    b"Call-ID:  transports.kijh4akdnaqjkwendsasfdj\n"
    b"Accept: application/sdp\n"
    b"CSeq: 60 OPTIONS\n"
    b"Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw\n"
    b"Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf\n"
    b"Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj\n"
    b"Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en\n"
    b"Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.1.11 Multipart MIME Message (the second part is binary DER and holds NUL, CR and LF)
_DER = bytes.fromhex(
    "3082015206092A86"
    "4886F70D010702A08201433082013F02"
    "0101310930070605 2B0E03021A300B06"
    "092A864886F70D0107013182012030 82"
    "011C020101307C3070310B3009060355"
    "040613025553311330110603550408 13"
    "0A43616C69666F726E69613111300F06"
    "035504071308536 16E204A6F7365310E"
    "300C060355040A1305736970697431 29"
    "3027060355040B13205369706974 2054"
    "65737420436572746966696361746520"
    "417574686F7269747902080195007102"
    "330113300706052B0E03021A300D0609"
    "2A864886F70D0101010500048180 8EF4"
    "66F948F0522DD2E5978E9D95AAE9F2FE"
    "15A06659716292E8DA2AA8D8350A68CE"
    "FFAE3CBD2BFF1675DDD5648E593DD647"
    "28F26220F7E941749E330D9A15EDABDB"
    "93D10C42102E7B7289D29CC0C9AE2EFB"
    "C7C0CFF9172F3B027E4FC027E1546DE4"
    "B6AA3ABB3E66CCCB5DD6C64B8383149C"
    "B8E6FF182D944FE57B65BC99D005".replace(" ", "")
)
MESSAGES["mpart01"] = (
    crlf(
        b"MESSAGE sip:kumiko@example.org SIP/2.0\n"
        b"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport\n"
        b"Max-Forwards: 70\n"
        b"Route: <sip:127.0.0.1:5080>\n"
        b"Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuLIK0YWVKZhKv9Mj8UeXqkMVbnVq37CD+813"
        b"gvYjcBUaZngQmXc9WNZSDNGCzA+fWl9MEUHWIZo1CeJebdY/XlgKeTa0Olvq0rt70Q5jiSfbqMJmQFteeivUhkMWYUA=\n"
        b"Contact: <sip:fluffy@127.0.0.1:5070>\n"
        b"To: <sip:kumiko@example.org>\n"
        b"From: <sip:fluffy@example.com>;tag=2fb0dcc9\n"
        b"Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..\n"
        b"CSeq: 1 MESSAGE\n"
        b"Content-Transfer-Encoding: binary\n"
        b"Content-Type: multipart/mixed;boundary=7a9cbec02ceef655\n"
        b"Date: Sat, 15 Oct 2005 04:44:56 GMT\n"
        b"User-Agent: SIPimp.org/0.2.5 (curses)\n"
        b"Content-Length: 553\n"
        b"\n"
        b"--7a9cbec02ceef655\n"
        b"Content-Type: text/plain\n"
        b"Content-Transfer-Encoding: binary\n"
        b"\n"
        b"Hello\n"
        b"--7a9cbec02ceef655\n"
        b"Content-Type: application/octet-stream\n"
        b"Content-Transfer-Encoding: binary\n"
        b"\n"
    )
    + _DER[:8]
    + b"\r\n"
    + _DER[8:]
    + b"--7a9cbec02ceef655--\r\n"
)

# 3.1.1.12 Unusual Reason Phrase
MESSAGES["unreason"] = crlf(
    b"SIP/2.0 200 = 2**3 * 5**2 "
    b"\xd0\xbd\xd0\xbe \xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd0\xbd\xd0\xbe"
    b"\xd1\x81\xd1\x82\xd0\xbe \xd0\xb4\xd0\xb5\xd0\xb2\xd1\x8f\xd1\x82\xd1\x8c - "
    b"\xd0\xbf\xd1\x80\xd0\xbe\xd1\x81\xd1\x82\xd0\xbe\xd0\xb5\n"
    b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
    b"Call-ID: unreason.1234ksdfak3j2erwedfsASdf\n"
    b"CSeq: 35 INVITE\n"
    b"From: sip:user@example.com;tag=11141343\n"
    b"To: sip:user@example.edu;tag=2229\n"
    b"Content-Length: 154\n"
    b"Content-Type: application/sdp\n"
    b"Contact: <sip:user@host198.example.com>\n"
    b"\n" + sdp(b"192.0.2.198")
)

# 3.1.1.13 Empty Reason Phrase
MESSAGES["noreason"] = crlf(
    b"SIP/2.0 100 \n"
    b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    b"Call-ID: noreason.asndj203insdf99223ndf\n"
    b"CSeq: 35 INVITE\n"
    b"From: <sip:user@example.com>;tag=39ansfi3\n"
    b"To: <sip:user@example.edu>;tag=902jndnke3\n"
    b"Content-Length: 0\n"
    b"Contact: <sip:user@host105.example.com>\n"
    b"\n"
)

# 3.1.2.1 Extraneous Header Field Separators
MESSAGES["badinv01"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:caller@example.net;tag=134161461246\n"
    b"Max-Forwards: 7\n"
    b"Call-ID: badinv01.0ha0isndaksdjasdf3234nas\n"
    b"CSeq: 8 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;;,;,,\n"
    b'Contact: "Joe" <sip:joe@example.org>;;;;\n'
    b"Content-Length: 152\n"
    b"Content-Type: application/sdp\n"
    b"\n" + sdp(b"192.0.2.15")
)

# 3.1.2.2 Content Length Larger Than Message
MESSAGES["clerr"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"Max-Forwards: 80\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:caller@example.net;tag=93942939o2\n"
    b"Contact: <sip:caller@hungry.example.net>\n"
    b"Call-ID: clerr.0ha0isndaksdjweiafasdk3\n"
    b"CSeq: 8 INVITE\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 9999\n"
    b"\n" + sdp(b"192.0.2.155")
)

# 3.1.2.3 Negative Content-Length
MESSAGES["ncl"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"Max-Forwards: 254\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:caller@example.net;tag=32394234\n"
    b"Call-ID: ncl.0ha0isndaksdj2193423r542w35\n"
    b"CSeq: 0 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw\n"
    b"Contact: <sip:caller@example53.example.net>\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: -999\n"
    b"\n" + sdp(b"192.0.2.53")
)

# 3.1.2.4 Request Scalar Fields with Overlarge Values
MESSAGES["scalar02"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3\n"
    b"To: <sip:user@example.com>\n"
    b"From: <sip:user@example.com>;tag=239232jh3\n"
    b"CSeq: 36893488147419103232 REGISTER\n"
    b"Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32\n"
    b"Max-Forwards: 300\n"
    b"Expires: 1" + b"0" * 100 + b"\n"
    b"Contact: <sip:user@host129.example.com>\n"
    b"  ;expires=280297596632815\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.1.2.5 Response Scalar Fields with Overlarge Values
MESSAGES["scalarlg"] = crlf(
    b"SIP/2.0 503 Service Unavailable\n"
    b"Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129\n"
    b"To: <sip:user@example.com>\n"
    b"From: <sip:other@example.net>;tag=2easdjfejw\n"
    b"CSeq: 9292394834772304023312 OPTIONS\n"
    b"Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r\n"
    b"Retry-After: 949302838503028349304023988\n"
    b'Warning: 1812 overture "In Progress"\n'
    b"Content-Length: 0\n"
    b"\n"
)

# 3.1.2.6 Unterminated Quoted String in Display Name
MESSAGES["quotbal"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b'To: "Mr. J. User <sip:j.user@example.com>\n'
    b"From: sip:caller@example.net;tag=93334\n"
    b"Max-Forwards: 10\n"
    b"Call-ID: quotbal.aksdj\n"
    b"Contact: <sip:caller@host59.example.net>\n"
    b"CSeq: 8 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 152\n"
    b"\n" + sdp(b"192.0.2.15")
)

# 3.1.2.7 <> Enclosing Request-URI
MESSAGES["ltgtruri"] = crlf(
    b"INVITE <sip:user@example.com> SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=39291\n"
    b"Max-Forwards: 23\n"
    b"Call-ID: ltgtruri.1@192.0.2.5\n"
    b"CSeq: 1 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.5\n"
    b"Contact: <sip:caller@host5.example.net>\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 159\n"
    b"\n" + sdp(b"192.0.2.5", t=b"3149328700")
)

# 3.1.2.8 Malformed SIP Request-URI (embedded LWS)
MESSAGES["lwsruri"] = crlf(
    b"INVITE sip:user@example.com; lr SIP/2.0\n"
    b"To: sip:user@example.com;tag=3xfe-9921883-z9f\n"
    b"From: sip:caller@example.net;tag=231413434\n"
    b"Max-Forwards: 5\n"
    b"Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423\n"
    b"CSeq: 2130706432 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395\n"
    b"Contact: <sip:caller@host1.example.net>\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 159\n"
    b"\n" + sdp(b"192.0.2.1", t=b"3149328700")
)

# 3.1.2.9 Multiple SP Separating Request-Line Elements
MESSAGES["lwsstart"] = crlf(
    b"INVITE  sip:user@example.com  SIP/2.0\n"
    b"Max-Forwards: 8\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=8814\n"
    b"Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com\n"
    b"CSeq: 1893884 INVITE\n"
    b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923\n"
    b"Contact: <sip:caller@host1.example.net>\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 150\n"
    b"\n" + sdp(b"192.0.2.1")
)

# 3.1.2.10 SP Characters at End of Request-Line
MESSAGES["trws"] = crlf(
    b"OPTIONS sip:remote-target@example.com SIP/2.0  \n"
    b"Via: SIP/2.0/TCP host1.examle.com;branch=z9hG4bK299342093\n"
    b"To: <sip:remote-target@example.com>\n"
    b"From: <sip:local-resource@example.com>;tag=329429089\n"
    b"Call-ID: trws.oicu34958239neffasdhr2345r\n"
    b"Accept: application/sdp\n"
    b"CSeq: 238923 OPTIONS\n"
    b"Max-Forwards: 70\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.1.2.11 Escaped Headers in SIP Request-URI
MESSAGES["escruri"] = crlf(
    b"INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=341518\n"
    b"Max-Forwards: 7\n"
    b"Contact: <sip:caller@host39923.example.net>\n"
    b"Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5\n"
    b"CSeq: 149209342 INVITE\n"
    b"Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 150\n"
    b"\n" + sdp(b"192.0.2.1")
)

# 3.1.2.12 Invalid Time Zone in Date Header Field
MESSAGES["baddate"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=2234923\n"
    b"Max-Forwards: 70\n"
    b"Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234\n"
    b"CSeq: 1392934 INVITE\n"
    b"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\n"
    b"Date: Fri, 01 Jan 2010 16:00:00 EST\n"
    b"Contact: <sip:caller@host5.example.net>\n"
    b"Content-Type: application/sdp\n"
    b"Content-Length: 150\n"
    b"\n" + sdp(b"192.0.2.5")
)

# 3.1.2.13 Failure to Enclose name-addr URI in <>
MESSAGES["regbadct"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:user@example.com;tag=998332\n"
    b"Max-Forwards: 70\n"
    b"Call-ID: regbadct.k345asrl3fdbv@10.0.0.1\n"
    b"CSeq: 1 REGISTER\n"
    b"Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw\n"
    b"Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.2.14 Spaces within addr-spec
MESSAGES["badaspec"] = crlf(
    b"OPTIONS sip:user@example.org SIP/2.0\n"
    b"Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234\n"
    b"Max-Forwards: 70\n"
    b'From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423\n'
    b'To: "Watson, Thomas" < sip:t.watson@example.org >\n'
    b"Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3\n"
    b"Accept: application/sdp\n"
    b"CSeq: 3923239 OPTIONS\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.2.15 Non-token Characters in Display Name
MESSAGES["baddn"] = crlf(
    b"OPTIONS sip:t.watson@example.org SIP/2.0\n"
    b"Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw\n"
    b"Max-Forwards:      70\n"
    b"From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43\n"
    b"To:      Watson, Thomas <sip:t.watson@example.org>\n"
    b"Call-ID: baddn.31415@c.example.com\n"
    b"Accept: application/sdp\n"
    b"CSeq:    3923239 OPTIONS\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.2.16 Unknown Protocol Version
MESSAGES["badvers"] = crlf(
    b"OPTIONS sip:t.watson@example.org SIP/7.0\n"
    b"Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\n"
    b"Max-Forwards:     70\n"
    b"From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\n"
    b"To:      T. Watson <sip:t.watson@example.org>\n"
    b"Call-ID: badvers.31417@c.example.com\n"
    b"CSeq:    1 OPTIONS\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.2.17 Start Line and CSeq Method Mismatch
MESSAGES["mismatch01"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:caller@example.net;tag=34525\n"
    b"Max-Forwards: 6\n"
    b"Call-ID: mismatch01.dj0234sxdfl3\n"
    b"CSeq: 8 INVITE\n"
    b"Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw\n"
    b"l: 0\n"
    b"\n"
)

# 3.1.2.18 Unknown Method with CSeq Method Mismatch
MESSAGES["mismatch02"] = crlf(
    b"NEWMETHOD sip:user@example.com SIP/2.0\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:caller@example.net;tag=34525\n"
    b"Max-Forwards: 6\n"
    b"Call-ID: mismatch02.dj0234sxdfl3\n"
    b"CSeq: 8 INVITE\n"
    b"Contact: <sip:caller@host.example.net>\n"
    b"Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw\n"
    b"Content-Type: application/sdp\n"
    b"l: 138\n"
    b"\n"
    b"v=0\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.1\n"
    b"c=IN IP4 192.0.2.1\n"
    b"m=audio 49217 RTP/AVP 0 12\n"
    b"m=video 3227 RTP/AVP 31\n"
    b"a=rtpmap:31 LPC\n"
)

# 3.1.2.19 Overlarge Response Code
MESSAGES["bigcode"] = crlf(
    b"SIP/2.0 4294967301 better not break the receiver\n"
    b"Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe\n"
    b"Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i\n"
    b"CSeq: 353494 INVITE\n"
    b"From: <sip:user@example.com>;tag=39ansfi3\n"
    b"To: <sip:user@example.edu>;tag=902jndnke3\n"
    b"Content-Length: 0\n"
    b"Contact: <sip:user@host105.example.com>\n"
    b"\n"
)

# 3.2.1 Missing Transaction Identifier
MESSAGES["badbranch"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.org;tag=33242\n"
    b"Max-Forwards: 3\n"
    b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK\n"
    b"Accept: application/sdp\n"
    b"Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n\n"
    b"CSeq: 8 OPTIONS\n"
    b"l: 0\n"
    b"\n"
)

# 3.3.1 Missing Required Header Fields
MESSAGES["insuf"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"CSeq: 193942 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf\n"
    b"Content-Type: application/sdp\n"
    b"l: 152\n"
    b"\n" + sdp(b"192.0.2.95")
)

# 3.3.2 Request-URI with Unknown Scheme
MESSAGES["unkscm"] = crlf(
    b"OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=384\n"
    b"Max-Forwards: 3\n"
    b"Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34\n"
    b"CSeq: 3923423 OPTIONS\n"
    b"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.3.3 Request-URI with Known but Atypical Scheme
MESSAGES["novelsc"] = crlf(
    b"OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=384\n"
    b"Max-Forwards: 3\n"
    b"Call-ID: novelsc.asdfasser0q239nwsdfasdkl34\n"
    b"CSeq: 3923423 OPTIONS\n"
    b"Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.3.4 Unknown URI Schemes in Header Fields
MESSAGES["unksm2"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"To: isbn:2983792873\n"
    b"From: <http://www.example.com>;tag=3234233\n"
    b"Call-ID: unksm2.daksdj@hyphenated-host.example.com\n"
    b"CSeq: 234902 REGISTER\n"
    b"Max-Forwards: 70\n"
    b"Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\n"
    b"Contact: <name:John_Smith>\n"
    b"l: 0\n"
    b"\n"
)

# 3.3.5 Proxy-Require and Require
MESSAGES["bext01"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"To: sip:j_user@example.com\n"
    b"From: sip:caller@example.net;tag=242etr\n"
    b"Max-Forwards: 6\n"
    b"Call-ID: bext01.0ha0isndaksdj\n"
    b"Require: nothingSupportsThis, nothingSupportsThisEither\n"
    b"Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis\n"
    b"CSeq: 8 OPTIONS\n"
    b"Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.3.6 Unknown Content-Type
MESSAGES["invut"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"Contact: <sip:caller@host5.example.net>\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:caller@example.net;tag=8392034\n"
    b"Max-Forwards: 70\n"
    b"Call-ID: invut.0ha0isndaksdjadsfij34n23d\n"
    b"CSeq: 235448 INVITE\n"
    b"Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw\n"
    b"Content-Type: application/unknownformat\n"
    b"Content-Length: 40\n"
    b"\n"
    b"<audio>\n"
    b' <pcmu port="443"/>\n'
    b"</audio>\n"
)

# 3.3.7 Unknown Authorization Scheme
MESSAGES["regaut01"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"To: sip:j.user@example.com\n"
    b"From: sip:j.user@example.com;tag=87321hj23128\n"
    b"Max-Forwards: 8\n"
    b"Call-ID: regaut01.0ha0isndaksdj\n"
    b"CSeq: 9338 REGISTER\n"
    b"Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw\n"
    b"Authorization: NoOneKnowsThisScheme opaque-data=here\n"
    b"Content-Length:0\n"
    b"\n"
)

# 3.3.8 Multiple Values in Single Value Required Fields
MESSAGES["multi01"] = crlf(
    b"INVITE sip:user@company.com SIP/2.0\n"
    b"Contact: <sip:caller@host25.example.net>\n"
    b"Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw\n"
    b"Max-Forwards: 70\n"
    b"CSeq: 5 INVITE\n"
    b"Call-ID: multi01.98asdh@192.0.2.1\n"
    b"CSeq: 59 INVITE\n"
    b"Call-ID: multi01.98asdh@192.0.2.2\n"
    b"From: sip:caller@example.com;tag=3413415\n"
    b"To: sip:user@example.com\n"
    b"To: sip:other@example.net\n"
    b"From: sip:caller@example.net;tag=2923420123\n"
    b"Content-Type: application/sdp\n"
    b"l: 154\n"
    b"Contact: <sip:caller@host36.example.net>\n"
    b"Max-Forwards: 5\n"
    b"\n" + sdp(b"192.0.2.25") + b"\r\n"
)

# 3.3.9 Multiple Content-Length Values
MESSAGES["mcl01"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423\n"
    b"To: sip:user@example.com\n"
    b"From: sip:other@example.net;tag=3923942\n"
    b"Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf\n"
    b"CSeq: 15932 OPTIONS\n"
    b"Content-Length: 13\n"
    b"Max-Forwards: 60\n"
    b"Content-Length: 5\n"
    b"Content-Type: text/plain\n"
    b"\n"
    b"There's no way to know how many octets are supposed to be here.\n"
)

# 3.3.10 200 OK Response with Broadcast Via Header Field Value
MESSAGES["bcast"] = crlf(
    b"SIP/2.0 200 OK\n"
    b"Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923\n"
    b"Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23\n"
    b"Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf\n"
    b"CSeq: 35 INVITE\n"
    b"From: sip:user@example.com;tag=11141343\n"
    b"To: sip:user@example.edu;tag=2229\n"
    b"Content-Length: 154\n"
    b"Content-Type: application/sdp\n"
    b"Contact: <sip:user@host28.example.com>\n"
    b"\n" + sdp(b"192.0.2.198")
)

# 3.3.11 Max-Forwards of Zero
MESSAGES["zeromf"] = crlf(
    b"OPTIONS sip:user@example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:caller@example.net;tag=3ghsd41\n"
    b"Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas\n"
    b"CSeq: 39234321 OPTIONS\n"
    b"Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i\n"
    b"Max-Forwards: 0\n"
    b"Content-Length: 0\n"
    b"\n"
)

# 3.3.12 REGISTER with a Contact Header Parameter
MESSAGES["cparam01"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\n"
    b"Max-Forwards: 70\n"
    b"From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe\n"
    b"To: sip:watson@example.com\n"
    b"Call-ID: cparam01.70710@saturn.example.com\n"
    b"CSeq: 2 REGISTER\n"
    b"Contact: sip:+19725552222@gw1.example.net;unknownparam\n"
    b"l: 0\n"
    b"\n"
)

# 3.3.13 REGISTER with a url-parameter
MESSAGES["cparam02"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw\n"
    b"Max-Forwards: 70\n"
    b"From: sip:watson@example.com;tag=838293\n"
    b"To: sip:watson@example.com\n"
    b"Call-ID: cparam02.70710@saturn.example.com\n"
    b"CSeq: 3 REGISTER\n"
    b"Contact: <sip:+19725552222@gw1.example.net;unknownparam>\n"
    b"l: 0\n"
    b"\n"
)

# 3.3.14 REGISTER with a URL Escaped Header
MESSAGES["regescrt"] = crlf(
    b"REGISTER sip:example.com SIP/2.0\n"
    b"To: sip:user@example.com\n"
    b"From: sip:user@example.com;tag=8\n"
    b"Max-Forwards: 70\n"
    b"Call-ID: regescrt.k345asrl3fdbv@192.0.2.1\n"
    b"CSeq: 14398234 REGISTER\n"
    b"Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw\n"
    b"M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\n"
    b"L:0\n"
    b"\n"
)

# 3.3.15 Unacceptable Accept Offering
MESSAGES["sdp01"] = crlf(
    b"INVITE sip:user@example.com SIP/2.0\n"
    b"To: sip:j_user@example.com\n"
    b"Contact: <sip:caller@host15.example.net>\n"
    b"From: sip:caller@example.net;tag=234\n"
    b"Max-Forwards: 5\n"
    b"Call-ID: sdp01.ndaksdj9342dasdd\n"
    b"Accept: text/nobodyKnowsThis\n"
    b"CSeq: 8 INVITE\n"
    b"Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw\n"
    b"Content-Length: 150\n"
    b"Content-Type: application/sdp\n"
    b"\n" + sdp(b"192.0.2.5")
)

# 3.4.1 INVITE with RFC 2543 Syntax
MESSAGES["inv2543"] = crlf(
    b"INVITE sip:UserB@example.com SIP/2.0\n"
    b"Via: SIP/2.0/UDP iftgw.example.com\n"
    b"From: <sip:+13035551111@ift.client.example.net;user=phone>\n"
    b"Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\n"
    b"To: sip:+16505552222@ss1.example.net;user=phone\n"
    b"Call-ID: inv2543.1717@ift.client.example.com\n"
    b"CSeq: 56 INVITE\n"
    b"Content-Type: application/sdp\n"
    b"\n"
    b"v=0\n"
    b"o=mhandley 29739 7272939 IN IP4 192.0.2.5\n"
    b"s=-\n"
    b"c=IN IP4 192.0.2.5\n"
    b"t=0 0\n"
    b"m=audio 49217 RTP/AVP 0\n"
)


def main() -> None:
    for name, data in MESSAGES.items():
        (HERE / f"{name}.dat").write_bytes(data)


if __name__ == "__main__":
    main()
