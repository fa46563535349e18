//! The PEM text of the fake's RSA signing keys (PKCS#1, 2048 bits, made with
//! `openssl genrsa -traditional 2048` for this file).
//!
//! TEST-ONLY KEYS OF A FAKE SERVER. They are public (they are in this source file), so anything
//! they sign proves nothing: they exist so that the fake Wristband can sign JWTs without
//! generating RSA keys at run time (slow in debug builds). Never trust them outside tests.

/// The keys in the order the fake uses them: the first signs at start, each
/// [`rotate_signing_key`](super::FakeWristband::rotate_signing_key) moves to the next.
pub(super) const PEMS: [&str; 4] = [
    "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEpAIBAAKCAQEA4jVuVw1l2AZmA/HOmH8ynjZ8D020nRM5vSlkx7mZCIU9u+wU\n\
4/rABBeomfLudtE9v/PdJDPwFLLYIC1HJVe1Dw1OrgQ5/GGu5++UGDRMzdE5t4S1\n\
ncnJM9mifeDUNuU7BTSBWtqoIhGg/vXW5dkOGDGcAdHYNmJkcFc3OlQ6uEk2isRN\n\
icwNcstXRdlinJfpO7j209EQ1zq5hUQw3c6bZJnLDRN+hwAfh/eJxNsTo7MSHr6/\n\
BwlNnFfVH++jRAeJR+e9W/VE9gpWQvQ8z2C12YBkA1Yw9u0LB2rn4bMC5WQVksdA\n\
lyelAdsEc0OafF60oO4qawYki4kAcpGXaiZcKQIDAQABAoIBAALXXKHvnfpce4vh\n\
eHtWNFVkEM3ZEi4w5MuZSVXwNlmy4Wd1W9PQkqMv2uMdd9z6htXc4x0GdqWuk2QK\n\
vYyHW/5Vkp9BQqsxXOg2jFEmLbAeHc/4ykEyR3qFFB3ppNtlqLFJi2BlQ7GzL/xT\n\
1oBU6BuUr/AelHfREjrjquLAK8FPIA6XgU44ca1IcfQ1nau8ZYM25CKHvlN7SlCw\n\
QXKsC9FAlmspAsg8u5yN/OJJWV/do0IkidwDSkUuNx1j84SqcORlyzQShMMqloCy\n\
Xwrkzynpvhe/G8Q3a92jurrHpwyQ8kdrSUr+P1pIyMHth67AXQup1mZgD07F7mAG\n\
VpfsEgECgYEA+oTSRO99aDFSdeLYEScGgfFNFOBG3WT9L+Jdb03LNdDPJgVNLZ15\n\
oU+pTIARpkHPLAT5Gc2Gyd2qFN7Rtm/USKD7uFuWGVu7qPPa5YkmcHQJ74BvhHdH\n\
MdUnFFWrd2oZWtCHsJp+1ZQAr8mN1Z1CYTwNFptlD8xUynWdvMPapoECgYEA5yhy\n\
THwdb8w9xQnHqoBhRxF806uH3IFW19uiwu7Dv/vZQpNUTYSNH27NZzgrwUiyJyqu\n\
RLJjYQa67aBqgolDZ/28MtzmtiUb7q9JhbzDMbwNSRRHszAG2l6alSNQHItPPDnb\n\
aIHoZ5lZdmRE2AOI0nqHmFUBo8Ch/17Zb0aP8akCgYAUXN12ivznjjLEsEadxk1K\n\
HKIGU2CPOFk4Hi84D9u3qRxdW8r1LTqouP/q3vIQUIMVceYJieIt4F2lyqLDMH3R\n\
1XwAdTlTIFi1l/Sv+aDtPRFdrVPjMYrQ6yF9DqWcVDxxXEfbPAOZOql/oGNt/JVb\n\
r/TkZIcnbJVry3mh0U2hgQKBgQDGpfuTvxWM/fgXXFA6Nhli+aRMQxx+Yqg+2IEH\n\
BCk00znh/Lp143Njj9T031C6yb5P6l3Yq3S77Qy3KSRfCZbjxyn0i+G4pita80g7\n\
pfwYwYKpSsRTOPKqtqIhiDdQUGfHWfEz3m/al+5Jz+FZwa/TMXlVb7f5AZI140z4\n\
U6tgAQKBgQDn6sirJZ/Q/FM2xzUyaWUOpY6S0+dgeOszmu4whzDsXiva0pblyzh6\n\
58lgED/OSSPVXawrFtxXG3vWR73bv7vpr9i9Yf4/MqvG4RQsoDPDYgDSQenJFriZ\n\
n6gxT1w0j+Dcalx3l8QhGHm/OCVIIrCRAs2WIWS1l5A7Wa3F0eNVkw==\n\
-----END RSA PRIVATE KEY-----\n",
    "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEowIBAAKCAQEApEkav301YqdmtBuDSLR0pX1nghESP1Be2ebLm4WMRFTLt6Lw\n\
nm4oKWxHsqyYxcfOnN593RTzKSug5EXzXiyq19pVdg9Aa/Bd53zPRPESNAT/yX+u\n\
i+2xRsm/T7E4Pdhc+86sqUWaxqiRvbSNQb/tqeWNNNuOqUASj5akEQaxfR5gefOm\n\
jboIFhJghq4KV3hmem3/tGRv/rb5D5TsGAeOWuDNbzCsX1Ir1AYk1HCHyVc8JfsA\n\
PtNWO3Mfa6/KS1Nol2NPjPMwLU/AjjArwXEGmZEsEtWVz0TrZ64lnxt+aN7eiB+O\n\
UIrNdDQpPaq/oD8/nBgtvxxXQKHguhyDLKORFQIDAQABAoIBABtImMycerU7n+7h\n\
ctgsQAML5JjRRPqG2nnNvprBfx4KBxskUFm/aaQXe4DM8UJHgKTEvpps1EVOHZZL\n\
l7NYL7dRZ0gIGGbUsIO1Uqbccm15NxG7xr0uaHadIsyVXgXHXQnktQAXszCy5iFf\n\
TuZQfaPtn5nbrMGnBm4aUn0RY4CnukAwn9kz+g556Qs0/YDg8yAUYVcH0InR29yf\n\
0Epbd8Wy8IEb6AgXfJgU27M58yAlJwQptOYqGQqKR9EKA5NE3vq4ya2XxkU2w7va\n\
DydNz779fVHo5ju7EYYosVMSxBCpfZrDkhZIOSbWvggbQWyMRRcDBAY93Pk9vxRL\n\
uY8COYECgYEA5pBwhOQZ94U8X3BxO2fBvrXPIr9uXHgYbaAGnZGrs+PmkR12uPHZ\n\
XukbxLhE8Y44nWQMmCsJn2/rWyUG9A++m+xNrwpLMlK9sj3eg0awhMwh2bDl2Vx3\n\
irL7jUmMtPWk+A2dPBiUTVDOOexnwdFUaaPEj/x/m1VtVQlAZQ0UeUkCgYEAtmjV\n\
Q92oRHEheFuffBltvapJ94CNp3rlia8R0DbdQvatsbvXp4CtGDG51W371NdKe4of\n\
fjCZ2C31CSkrIJ9MfaXqVuGlXEo5B/LaMi9eZpf3c+PoNMQPNNWTFuGlMu5ADnU2\n\
eF9sZmGvBFM1B/lPFv+Ri6qrtjNlpkSxRCmhhW0CgYBcCGvhn+t9kgF3Vzrbq576\n\
sTftdtxmrMmTeL0rSGpxdBck9c3eJSvPZt1euO9MPKj8qmMcmpFMwy//Qdh0s5Qy\n\
STD5HfLGM6Dk9S1M2Xq8h387lhEpom9VPfyLeUBhO2yOV2DcDDOmaQrotCT2iMhZ\n\
IrXjg7asGn155CeALqhtgQKBgHRjtdik4Y4yRXH/vGa57vz7YFDtlPVNhJLyw0IB\n\
D/N/ZNsoiXUWtNvgNrxJfkuTx7HGM0wYhMGcqWJcA2nAW1U8/abMOfAGaBd7TOCC\n\
uxBpXPp0bKDmjPFgaYdLGVbDENpozgXGlWtKXxs6YHcjC+UX022zy/bpGq4Z3KYq\n\
jiaNAoGBAOCYkWk5BrA8UBdTn++rZtQCm/q0ejt+a7b7q2/msrtqRP/OVoN+qNC0\n\
N7/jCoE6JnSyUMh70kQWJlfzubWiyVHnFOBjwPe2eWjUBLJTfgT+GdOeWS2vUcBN\n\
L2glIoWFc5cMQZKal65w127NAVgdZ8Rd5/7UhFYYctvoJ/GwI5fM\n\
-----END RSA PRIVATE KEY-----\n",
    "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEowIBAAKCAQEAh5B3kn1sfqlskOLThbNhwXyUb4cQaDtPpEY2WbbRzKfGninX\n\
TGsAbUlOyf9sCDcCxdJ7FczoR8IWUQTGJCGyHtKZaIDFI9tpI1usay9bAj8QuKwf\n\
Bt1biC/RjsXcG4bIuWkc2xUe5RISNW4JX6I7i/c8hFw45q2htAbEuQVRMHyvcn0B\n\
XegVgoIf6lj+GqJ8BfdYr4ODZdfSXCpZ5qRx+w3v11yA8UdWwJiDGY8IMchxwQhh\n\
3txMLRxtEUB+hC+VeMDmAL5GRnfkUjXbaxmvLra/xjcf1hBuj2ceVBdXF4ziE22D\n\
lpvjm3YjfglARppBr8Fh7AwfcMfET+LghgjVvQIDAQABAoIBADDjJlvLo16iFqbB\n\
ReqHYA94r8bwfDg6e2QQdfUwesRFFNlg2WWTiNngf+tUk077F6LjXsPj2zhVg9q/\n\
z/yjsipvZCdNmMpvi6DWpH0a3MUYnR0b5SyCk0mvhPDp5ZB/sM88Ws2e9j9BnxNp\n\
lTPJu5OkG0zYPSTjJNdZQYQ/qKHFLtlfLYzMVZMCW0IgEuS8N5wfM/v6c5vs4fP+\n\
z/gpykwCoZAIuLAwyoEB90jNvBfkbTeQbfI6837gJ7qyTNmeERJp/aYIRRBJ6tYL\n\
jWVPM7ra10yqm8vW++a+LigOHYQFBWIegakOXOmABk18pGk186+Iu+5EkPyXzTSF\n\
uxNuc3kCgYEAvDnlcqlbKB6oat2JLG7/DMqDWlicgkVhiB/JnFOkDz4/6kLZh3z3\n\
PvGr62OxsOxYU/VWzCfE4ycgRPLUXZoUfSstDkC3sUU6JwOyK8N9KzCuvqPf+xDY\n\
oxHWtgfPIAxIvcEZCtwkqQjZZSJyvSsRvmJ0gXzgScK8KljiU7mDX1cCgYEAuGBd\n\
xTYfU5tEVUUDwe8QxHmplp9c3ANGlnuKfKM1ZEyp040qH65P7w+g6wrXHRu1QUJf\n\
DSlmrkMwUP0wn4+3BdchahaStnKTNleb4/wi/hwox6ppP93n94knPfbslQqWuvr2\n\
IOiQ23h0PA5NovRtJFV2hSd7C5aYvh45mEotCwsCgYApKNPmxefcFxAnBjin0cHO\n\
Dz638+aNihRwytqwZ43Zk3gwhtvAh/AdAIXinFNP5+7MtTp8vDmOnpCs4xjTOw09\n\
7cIVestwZT35KBK/BSmK10NvBrDE2wM0bYMxHPYLAQSrEd2jBU6y8+9t8SF8Aj4I\n\
DsmBQ0hceMviyrr7KfbzUwKBgQCTb0vMhYjrXD96SCPHEpo/4mHANlMVA/GQJ94H\n\
6KKrP7qVlk5W4xa8Pa0aBqMZfaylMKO9bJvVQZkDSlN1ZICgRPVNVhuflWMuk0Pv\n\
PRHmTTI254geMB5sDNq6bBem3r7FaiUjD5W2Sk34MB/Y7MfRxB1wQK/eBmDBtn2r\n\
z7TRHQKBgC463tn+w8hI/m7IxxRt9lIL0cSwrd1Q0hteZ8InOZra6GIKApfIxXHn\n\
q7+tAlfG7H6Qvm5gphzsJuBYb/JIXqsLs8/1TNNOzZY1tGfXCeFFU2cP+FtgUELC\n\
XbNxQBLfcsbEbf55k1ThE+rC8nj0ZDpD1DsjAUBQMXtS6eDWPx0z\n\
-----END RSA PRIVATE KEY-----\n",
    "\
-----BEGIN RSA PRIVATE KEY-----\n\
MIIEpAIBAAKCAQEAtYJnTn353SztzA1TJOa4OSheheh+NKVBFkjrbmL6sf4QHHk9\n\
TXzV+2IC+wW6qNkbOM5z33E70FV9M87mePbyQh62ke/sgXWhx3Kvs6F4zAV2efxR\n\
lOU92qEZUK838LSwJI7qdzR6oKJ1wGT0qFrK6nFEZ4BomGty8w1RCsvTxZbnXv+z\n\
quU4Kx9xz/fFAy1oumkzeKwkswxH/JGuGCd/ktVskxg/2Cwt0eF+6LUzexf7Z48g\n\
HUY1dTpaqeT1415/DLb6gfYst8kMv2bFGs3ZQ5wL2JGAaLGrf+37MxeH2nduErSk\n\
YLyGN5PcGYY734Hx1HC2tfppJGT/uyYf0OwIMQIDAQABAoIBACX+jo5tK10DdyGU\n\
FnfufdilHSgtsyFlCDtYd0PLn0ub8ZZsQItUWtx8t0ABgoGutJaPDM1UgB9LjeJG\n\
6JKgqrRxhmkFDn5I99zuol3ZKpaWfCbrzM38sJZvy4NKskyGHisA6Y6bYyH17+0e\n\
lOIa40fw/s8ln39sWosLGhBG+2TsJ8y3QKmi6cEIhC6flTd5X46zv4DlVcMopORx\n\
CHhie2tgTgBOIondwD9ltHouZbaoyo0u5B/E8SvFZs4xSa2txJqbwvIcMwDOGOte\n\
YNN5KA20MDDUZ2U1VnUnbwNPorZxeRhiaItF+53jeAJHsb5qgdtRxBCs1GGZ/iZf\n\
Cz6xcMsCgYEA5EXAVoMRiQK7IzfgKdSTJHsFkmSG48auOWdsygNtFBajsV/FV/ft\n\
iIFfoaIeLMqzJ1ySntgDxH7pT1E3A3FkbSkd0golpVeji0FZ+NMDTFq6g/eGrRRm\n\
35cvhixTTqpf8CwCcOfcdwwgs59U/kVxh5DnTIOzlyiKekibpY+DF78CgYEAy46H\n\
ztJGQUrkDkRrxRyyHVtYzVIyNe6gi39NiT23w6uGBmSFVwB1GKLjCL+eJbFwVC2+\n\
T8nAPFf8jja5Y3wEdXAnqUluG+N2LD/4BlP6JQbiHHnKIhhPxD1ay5lpIS3ZV0HM\n\
d7icc+dh6tXqlwN7/+ZVHEKWmD0kJxKCFlmLXA8CgYEAugMMxHJxq5AKJpy1keCj\n\
Nqr4014PfTS9bBGXWNaJ4EDCixtbmF9ztDSYVQHiTOWwL3cEE2Q7TbeNLxEjHy8b\n\
gshqgGm8W4uavTM3ucdZfLLCIh9mI0vouHJeS5t7FzNGklOKea62vFupmjVP8RNt\n\
e+bcVEFN6vMiRJs+Gh9j18kCgYAIVVZz/iHILIO3nc93q1wTXZj+Ft5dXN6Pt296\n\
Ld+nEA+VlWnsDOW+U3TN9+JGksQRfinrZEwNbGC3hcADNaGNGUFWad4rIB3HY/sI\n\
b0mvWF/LYKUIzkv9sbFU4nvuUs0yCEyRnioxiIh2r7lB42+hI1HarVMy+lXPj69p\n\
sNLGuwKBgQCYVL99YC5eFim4DuX5s71l2uCKViPm6GP4+p9pc49vrvBFtYsIYsR4\n\
1jf1JMzCyyt8J+uXzSfEIwxhyTvS9GgA9JdX6lZMpw4xIzujd4ajR5nSzvCFvCjt\n\
cGSuQMC3MiVu8igIleJwedLu+ScHuWz406YZPDhgvbMHpSJHubDEeA==\n\
-----END RSA PRIVATE KEY-----\n",
];
