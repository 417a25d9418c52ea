import { describe, expect, it } from "vitest";
import { countSms, isGsm7, SMS_MAX_CHARS } from "./sms-parts";

const a = (n: number) => "a".repeat(n);

describe("SMS parts", () => {
  it("counts nothing for an empty text", () => {
    expect(countSms("")).toMatchObject({ characters: 0, encoding: "gsm7", units: 0, parts: 0, remaining: 160, tooLong: false });
  });

  it("fits 160 GSM-7 characters in one SMS and splits longer texts into parts of 153", () => {
    expect(countSms(a(160))).toMatchObject({ parts: 1, perPart: 160, remaining: 0 });
    expect(countSms(a(161))).toMatchObject({ parts: 2, perPart: 153, remaining: 145 });
    expect(countSms(a(306)).parts).toBe(2);
    expect(countSms(a(307)).parts).toBe(3);
    expect(countSms(`Dobry den,\n${a(150)}`)).toMatchObject({ encoding: "gsm7", characters: 161, parts: 2 });
  });

  it("treats é and other GSM letters as GSM-7 but Czech diacritics as UCS-2 (70, then 67 per part)", () => {
    expect(countSms("Vážená paní").encoding).toBe("ucs2");
    expect(countSms("é É ä ö ü à Ç ß").encoding).toBe("gsm7");
    expect(isGsm7("čřžěšůúýáí")).toBe(false);
    expect(countSms(`č${a(69)}`)).toMatchObject({ characters: 70, units: 70, parts: 1, perPart: 70, remaining: 0 });
    expect(countSms(`č${a(70)}`)).toMatchObject({ parts: 2, perPart: 67 });
    expect(countSms(`č${a(133)}`).parts).toBe(2);
    expect(countSms(`č${a(134)}`).parts).toBe(3);
  });

  it("counts the GSM extension characters ^{}\\[~]|€ twice and never splits one across parts", () => {
    for (const char of "^{}\\[~]|€") expect(countSms(char), char).toMatchObject({ encoding: "gsm7", characters: 1, units: 2 });
    expect(countSms("€".repeat(80))).toMatchObject({ characters: 80, units: 160, parts: 1 });
    expect(countSms("€".repeat(81))).toMatchObject({ units: 162, parts: 2 });
    // 152 + [€] does not fit in 153: the € opens the second part.
    expect(countSms(`${a(152)}€${a(151)}`)).toMatchObject({ units: 305, parts: 2, remaining: 0 });
    expect(countSms(`${a(152)}€${a(152)}`)).toMatchObject({ units: 306, parts: 3 });
  });

  it("counts an emoji as one character but two UCS-2 units, kept in one part", () => {
    expect(countSms("😀")).toMatchObject({ characters: 1, encoding: "ucs2", units: 2, parts: 1 });
    expect(countSms(`ř${"b".repeat(65)}😀`)).toMatchObject({ units: 68, parts: 1 });
    expect(countSms(`ř${a(65)}😀${a(5)}`)).toMatchObject({ units: 73, parts: 2, remaining: 60 });
  });

  it("refuses more than 1600 characters, counted as characters", () => {
    expect(SMS_MAX_CHARS).toBe(1600);
    expect(countSms(a(1600)).tooLong).toBe(false);
    expect(countSms(a(1601)).tooLong).toBe(true);
    expect(countSms("ř".repeat(1600))).toMatchObject({ tooLong: false, parts: 24 });
    expect(countSms("😀".repeat(1601)).tooLong).toBe(true);
    expect(countSms(a(11), 10).tooLong).toBe(true);
  });
});
