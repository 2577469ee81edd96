/*
 * simlab_catalogue: the data.  Items follow the standards labs test these
 * products against (GB 6675 toys, GB/T 5023 and GB/T 3956 cables, GB 4706.1
 * household appliances, GB 18401 textiles, GB 18584 and GB/T 3324 furniture,
 * GB 17761 electric bicycles, GB 4806 food-contact plastics, GB 21027
 * student articles, GB 18582 interior paints, GB 16410 gas cookers); limits
 * are the standards' limits, measured ranges are what a lab plausibly finds.
 */
#include "simlab_catalogue.h"

#include <string.h>

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define N(a)      (sizeof(a) / sizeof((a)[0]))

/* Places whose manufacturers supply Xiamen's shops (simlab_places order). */
enum {
        P_CHENGHAI,
        P_SHUNDE,
        P_DONGGUAN,
        P_YIWU,
        P_CIXI,
        P_JINJIANG,
        P_GUANGZHOU,
        P_TAIZHOU,
        P_ZHANGZHOU,
        P_WUXI,
};

const simlab_place_t simlab_places[] = {
    [P_CHENGHAI] = {"440515", "汕头市澄海区",
                    LIST("莲下镇", "莲上镇", "凤翔街道", "广益街道",
                         "澄华街道")},
    [P_SHUNDE] = {"440606", "佛山市顺德区",
                  LIST("北滘镇", "容桂街道", "勒流街道", "伦教街道",
                       "大良街道")},
    [P_DONGGUAN] = {"441900", "东莞市",
                    LIST("长安镇", "虎门镇", "厚街镇", "大朗镇", "塘厦镇")},
    [P_YIWU] = {"330782", "义乌市",
                LIST("稠城街道", "北苑街道", "佛堂镇", "廿三里街道")},
    [P_CIXI] = {"330282", "慈溪市",
                LIST("观海卫镇", "周巷镇", "坎墩街道", "宗汉街道")},
    [P_JINJIANG] = {"350582", "晋江市",
                    LIST("陈埭镇", "安海镇", "磁灶镇", "池店镇", "青阳街道")},
    [P_GUANGZHOU] = {"440100", "广州市",
                     LIST("白云区太和镇", "番禺区石基镇", "花都区新华街道",
                          "增城区新塘镇")},
    [P_TAIZHOU] = {"331000", "台州市",
                   LIST("路桥区桐屿街道", "黄岩区北城街道", "椒江区洪家街道")},
    [P_ZHANGZHOU] = {"350600", "漳州市",
                     LIST("龙文区蓝田街道", "芗城区石亭镇",
                          "长泰区兴泰开发区")},
    [P_WUXI] = {"320200", "无锡市",
                LIST("锡山区东港镇", "惠山区洛社镇", "新吴区硕放街道")},
};
const size_t simlab_nplaces = N(simlab_places);

enum { L_XMQI, L_FJQI, L_FJFI, L_XMEB };

const simlab_lab_t simlab_labs[] = {
    [L_XMQI] = {"XMQI", "厦门市产品质量监督检验院", "XZJ", 1},
    [L_FJQI] = {"FJQI", "福建省产品质量检验研究院", "MZJ", 1},
    [L_FJFI] = {"FJFI", "福建省纤维检验中心", "MXJ", 0},
    [L_XMEB] = {"XMEB", "厦门市电气产品质量检验中心", "XDJ", 0},
};
const size_t simlab_nlabs = N(simlab_labs);

/* Streets with shops and the industrial areas of each district. */
const simlab_district_t simlab_districts[] = {
    {"350203", "思明区", "SM", 22, "思市监",
     LIST("厦禾路", "湖滨南路", "莲前西路", "嘉禾路", "中山路", "湖滨北路",
          "莲花南路", "思明南路", "前埔路", "禾祥西路"),
     LIST("软件园二期观日路", "莲前东路", "前埔南路")},
    {"350205", "海沧区", "HC", 13, "海市监",
     LIST("海沧大道", "沧林路", "滨湖北路", "钟林路", "新阳路"),
     LIST("新阳工业区新阳路", "翁角路", "马青路")},
    {"350206", "湖里区", "HL", 22, "湖市监",
     LIST("湖里大道", "江头北路", "嘉禾路", "金山路", "吕岭路", "兴隆路",
          "金尚路", "枋湖北二路", "五缘湾道", "华泰路"),
     LIST("安岭路", "穆厝路", "火炬园火炬北路", "高新技术园岐山北路")},
    {"350211", "集美区", "JM", 16, "集市监",
     LIST("集美大道", "杏林湾路", "银江路", "孙坂南路", "杏锦路"),
     LIST("杏林南路", "灌口镇灌口中路", "后溪镇后溪工业区")},
    {"350212", "同安区", "TA", 15, "同市监",
     LIST("同集南路", "同集中路", "环城南路", "环城西路"),
     LIST("西柯街道同安工业集中区", "五显镇", "同集北路")},
    {"350213", "翔安区", "XA", 12, "翔市监",
     LIST("翔安南路", "翔安北路", "民安大道", "马巷镇五一路"),
     LIST("翔安东路", "新店镇火炬园", "内厝镇")},
};
const size_t simlab_ndistricts = N(simlab_districts);
_Static_assert(N(simlab_districts) <= SIMLAB_MAX_DISTRICTS,
               "raise SIMLAB_MAX_DISTRICTS");

const char *const simlab_trade_first[] = {
    "鑫", "宏", "华", "盛", "嘉", "鹭", "闽", "海", "金", "瑞",
    "恒", "佳", "永", "新", "博", "富", "源", "泰", "德", "兴",
    "昌", "达", "隆", "祥", "星", "辉", "凯", "万", "明", "顺",
    "正", "天", "立", "和", "东", "益", NULL};
const char *const simlab_trade_second[] = {
    "华", "泰", "源", "盛", "达", "丰", "宇", "航", "联", "信", "诚",
    "润", "升", "通", "发", "利", "美", "嘉", "晟", "鸿", "亿", "诺",
    "邦", "捷", "安", "欣", "科", "创", "远", "荣", NULL};
const char *const simlab_brands[] = {
    "鹭宝",   "闽星", "嘉禾美", "优可", "彩虹桥", "乐童",   "金鹭",
    "海之星", "图形", "百思特", "惠家", "安宜",   "佳乐福", "小鹭",
    "宏达",   "万象", "绿源居", "速达", "NEOLUX", "HOMEY",  NULL};

const char *const simlab_surnames[] = {
    "陈", "林", "黄", "王", "李", "张", "吴", "郑", "刘", "杨", "许",
    "蔡", "洪", "郭", "曾", "叶", "苏", "庄", "周", "柯", "谢", NULL};
const char *const simlab_given_names[] = {
    "晓燕", "志强", "丽娟", "建华", "秀英", "伟",   "海峰",
    "美玲", "国平", "雅婷", "俊杰", "淑芬", "文斌", "慧敏",
    "振华", "丽芳", "明辉", "静",   NULL};
const char *const simlab_factory_roads[] = {
    "工业大道", "兴业路",   "创业路", "科技路", "振兴路", "富民路",
    "发展大道", "环镇北路", "站前路", "新华路", NULL};

/* ---- 儿童用品 ------------------------------------------------------------ */

static const simlab_product_t toy_products[] = {
    {"塑胶玩具", LIST("LX-6602", "TY-8821 \"豪华版\"", "3岁以上")},
    {"毛绒玩具", LIST("30cm", "45cm", "MR-1209")},
    {"益智积木", LIST("120粒装", "JM-3308")},
    {"电动玩具车", LIST("RC-1:18", "WL-9926")},
};

static const simlab_item_t toy_items[] = {
    {"邻苯二甲酸酯增塑剂", "GB 6675.1-2014 4.3.2",
     "DBP+BBP+DEHP≤0.1；DINP+DIDP+DNOP≤0.1", "%", 'A', 1, SIMLAB_MAX, 0, 0.1,
     0.01, 3.5, 2, 0.02, NULL, NULL, 15},
    {"小零件", "GB 6675.2-2014 5.1", "供36个月以下儿童使用的玩具不应有小零件",
     NULL, 'A', 1, SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL,
     "眼睛部件脱落，可完全容入小零件试验器", 14},
    {"锐利边缘", "GB 6675.2-2014 5.8", "可触及边缘不应有危险锐利边缘", NULL,
     'A', 1, SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "外壳分型线处有危险锐利边缘",
     7},
    {"锐利尖端", "GB 6675.2-2014 5.9", "可触及尖端不应有危险锐利尖端", NULL,
     'A', 1, SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "发条钥匙尖端为危险锐利尖端",
     4},
    {"可迁移元素(铅)", "GB 6675.4-2014 4.2", "≤90", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 90, 2, 460, 0, 10, NULL, NULL, 3},
    {"标识和使用说明", "GB 6675.1-2014 附录B", "应有年龄警告和使用说明", NULL,
     'B', 0, SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "未标注年龄警告", 36},
};

/* ---- 电线电缆 ------------------------------------------------------------ */

static const simlab_product_t cable_products[] = {
    {"聚氯乙烯绝缘电线",
     LIST("BV 450/750V 1×2.5mm²", "BV 450/750V 1×2.5mm², 100m/卷")},
    {"铜芯聚氯乙烯绝缘电线", LIST("BV 450/750V 1×2.5mm²")},
};

static const simlab_item_t cable_items[] = {
    {"导体电阻", "GB/T 3956-2008 5.1.2", "20℃时≤7.41", "Ω/km", 'A', 0,
     SIMLAB_MAX, 0, 7.41, 7.00, 9.80, 2, 0, NULL, NULL, 36},
    {"绝缘厚度", "GB/T 5023.3-2008 表4", "平均厚度≥0.80", "mm", 'A', 0,
     SIMLAB_MIN, 0.80, 0, 0.55, 0.95, 2, 0, NULL, NULL, 14},
    {"绝缘最薄处厚度", "GB/T 5023.2-2008 1.9", "≥0.62", "mm", 'A', 0,
     SIMLAB_MIN, 0.62, 0, 0.40, 0.80, 2, 0, NULL, NULL, 16},
    {"电压试验", "GB/T 5023.2-2008 2.2", "2500V 5min不击穿", NULL, 'A', 1,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, "不击穿", "击穿", 6},
    {"绝缘老化前抗张强度", "GB/T 5023.1-2008 表1", "≥12.5", "N/mm²", 'B', 0,
     SIMLAB_MIN, 12.5, 0, 8.0, 19.0, 1, 0, NULL, NULL, 10},
    {"标志", "GB/T 5023.1-2008 3", "标志应连续、清晰、耐擦", NULL, 'B', 0,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "标志间距超过550mm", 18},
};

/* ---- 家用电器及电器附件 ------------------------------------------------- */

static const simlab_product_t appliance_products[] = {
    {"电热水壶", LIST("SWF17E23", "HK-1801", "1.7L 1800W")},
    {"电吹风", LIST("RC-2099", "KF-3911 1200W")},
    {"电饭锅", LIST("MB-FB40 4L", "CFXB30-5")},
    {"电暖器", LIST("NSB-200", "DS-2203 2000W")},
};

static const simlab_item_t appliance_items[] = {
    {"泄漏电流", "GB 4706.1-2005 13.2", "≤0.75", "mA", 'A', 1, SIMLAB_MAX, 0,
     0.75, 0.02, 2.50, 2, 0, NULL, NULL, 6},
    {"电气强度", "GB 4706.1-2005 13.3", "1250V 1min无击穿", NULL, 'A', 1,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, "无击穿", "加强绝缘处击穿", 5},
    {"接地措施", "GB 4706.1-2005 27.5", "接地电阻≤0.1", "Ω", 'A', 1, SIMLAB_MAX,
     0, 0.1, 0.010, 0.350, 3, 0, NULL, NULL, 12},
    {"对触及带电部件的防护", "GB 4706.1-2005 8.1", "试验指不能触及带电部件",
     NULL, 'A', 1, SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "试验指可触及带电部件",
     12},
    {"温升", "GB 4706.1-2005 11.8", "手柄≤35", "K", 'A', 0, SIMLAB_MAX, 0, 35,
     12, 58, 0, 0, NULL, NULL, 12},
    {"输入功率和电流", "GB 4706.1-2005 10.1", "偏差+5%～-10%", "%", 'B', 0,
     SIMLAB_RANGE, -10, 5, -18, 12, 1, 0, NULL, NULL, 20},
    {"标志和说明", "GB 4706.1-2005 7", "应符合标准要求", NULL, 'B', 0,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "未标注额定输入功率", 28},
};

/* ---- 服装 ---------------------------------------------------------------- */

static const simlab_product_t clothing_products[] = {
    {"针织T恤衫", LIST("165/88A", "170/92A", "175/96A")},
    {"牛仔裤", LIST("170/74A", "175/80A")},
    {"婴幼儿连体衣", LIST("73/48", "80/48", "90/52")},
    {"休闲裤", LIST("170/76A", "180/84A")},
};

static const simlab_item_t clothing_items[] = {
    {"甲醛含量", "GB 18401-2010 4.1", "≤75", "mg/kg", 'A', 1, SIMLAB_MAX, 0, 75,
     8, 260, 0, 20, NULL, NULL, 8},
    {"pH值", "GB 18401-2010 4.1", "4.0～8.5", NULL, 'A', 0, SIMLAB_RANGE, 4.0,
     8.5, 3.0, 9.8, 1, 0, NULL, NULL, 12},
    {"可分解致癌芳香胺染料", "GB 18401-2010 4.1", "禁用(≤20)", "mg/kg", 'A', 1,
     SIMLAB_MAX, 0, 20, 1, 95, 0, 5, NULL, NULL, 3},
    {"异味", "GB 18401-2010 4.1", "无", NULL, 'A', 1, SIMLAB_TEXT, 0, 0, 0, 0,
     0, 0, "无", "有霉味", 3},
    {"纤维含量", "GB/T 29862-2013 4.1", "棉含量偏差≤5", "%", 'B', 0, SIMLAB_MAX,
     0, 5, 0, 28, 1, 0, NULL, NULL, 36},
    {"耐水色牢度(变色)", "GB 18401-2010 4.1", "≥3", "级", 'B', 0, SIMLAB_MIN, 3,
     0, 1, 5, 0, 0, NULL, NULL, 14},
    {"使用说明", "GB 5296.4-2012 5", "应符合标准要求", NULL, 'B', 0,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "未标注安全技术类别", 24},
};

/* ---- 家具 ---------------------------------------------------------------- */

static const simlab_product_t furniture_products[] = {
    {"板式衣柜", LIST("YG-1820", "1800×600×2200mm")},
    {"板式书柜", LIST("SG-0816", "800×300×1800mm")},
    {"实木餐桌", LIST("CZ-1400", "1400×800×750mm")},
    {"办公椅", LIST("BG-088", "BY-2301")},
};

static const simlab_item_t furniture_items[] = {
    {"甲醛释放量", "GB 18584-2001 5", "≤1.5", "mg/L", 'A', 1, SIMLAB_MAX, 0,
     1.5, 0.1, 5.8, 1, 0, NULL, NULL, 14},
    {"稳定性", "GB/T 3324-2017 6.7", "试验中不应倾翻", NULL, 'A', 1,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, "未倾翻", "门打开时向前倾翻", 7},
    {"可溶性重金属(铅)", "GB 18584-2001 5", "≤90", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 90, 1, 300, 0, 5, NULL, NULL, 2},
    {"漆膜附着力", "GB/T 3324-2017 6.6", "≤2", "级", 'B', 0, SIMLAB_MAX, 0, 2,
     1, 5, 0, 0, NULL, NULL, 15},
    {"五金件", "GB/T 3324-2017 6.3", "安装应牢固，活动部件灵活", NULL, 'B', 0,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "铰链安装不牢固", 22},
    {"标志", "GB/T 3324-2017 8", "应有产品标志", NULL, 'B', 0, SIMLAB_TEXT, 0,
     0, 0, 0, 0, 0, NULL, "未标注产品执行标准", 30},
};

/* ---- 电动自行车 ---------------------------------------------------------- */

static const simlab_product_t ebike_products[] = {
    {"电动自行车", LIST("TDT1106Z", "TDR2258Z", "TDT0921Z", "TDR3301Z")},
};

static const simlab_item_t ebike_items[] = {
    {"最高设计车速", "GB 17761-2018 6.1.1", "≤25", "km/h", 'A', 1, SIMLAB_MAX,
     0, 25, 20, 48, 1, 0, NULL, NULL, 14},
    {"制动性能", "GB 17761-2018 6.1.4", "干态制动距离≤7", "m", 'A', 1,
     SIMLAB_MAX, 0, 7, 3.5, 11.0, 1, 0, NULL, NULL, 8},
    {"整车质量", "GB 17761-2018 6.1.3", "≤55", "kg", 'A', 0, SIMLAB_MAX, 0, 55,
     38, 72, 1, 0, NULL, NULL, 22},
    {"脚踏行驶能力", "GB 17761-2018 6.1.5", "30min行驶距离≥7", "km", 'B', 0,
     SIMLAB_MIN, 7, 0, 4, 10, 1, 0, NULL, NULL, 14},
    {"阻燃性能", "GB 17761-2018 6.4", "非金属材料水平燃烧速度≤75mm/min", NULL,
     'A', 1, SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "前护板燃烧速度超过75mm/min",
     6},
    {"防篡改", "GB 17761-2018 6.1.2", "限速装置不应被篡改", NULL, 'A', 1,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "限速线可被拆除", 10},
    {"标志", "GB 17761-2018 7.1", "应符合标准要求", NULL, 'B', 0, SIMLAB_TEXT,
     0, 0, 0, 0, 0, 0, NULL, "无中文产品标识", 26},
};

/* ---- 食品相关产品 -------------------------------------------------------- */

static const simlab_product_t foodcontact_products[] = {
    {"一次性塑料餐盒", LIST("750ml", "1000ml")},
    {"塑料保鲜盒", LIST("BX-600", "1.2L")},
    {"塑料水杯", LIST("500ml", "SB-350")},
};

static const simlab_item_t foodcontact_items[] = {
    {"总迁移量", "GB 4806.7-2016 4.3", "≤10", "mg/dm²", 'A', 1, SIMLAB_MAX, 0,
     10, 0.5, 32, 1, 0, NULL, NULL, 10},
    {"高锰酸钾消耗量", "GB 4806.7-2016 4.3", "≤10", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 10, 0.5, 28, 1, 0, NULL, NULL, 12},
    {"重金属(以Pb计)", "GB 4806.7-2016 4.3", "≤1", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 1, 0.1, 4.0, 1, 0, NULL, NULL, 3},
    {"脱色试验", "GB 4806.7-2016 4.3", "阴性", NULL, 'A', 1, SIMLAB_TEXT, 0, 0,
     0, 0, 0, 0, "阴性", "阳性", 6},
    {"感官", "GB 4806.7-2016 4.2", "无异臭、不洁物", NULL, 'B', 0, SIMLAB_TEXT,
     0, 0, 0, 0, 0, 0, NULL, "有异味", 20},
    {"标签标识", "GB 4806.1-2016 8", "应标注“食品接触用”等内容", NULL, 'B', 0,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "未标注“食品接触用”", 40},
};

/* ---- 学生用品 ------------------------------------------------------------ */

static const simlab_product_t student_products[] = {
    {"铅笔", LIST("HB", "2B")},
    {"橡皮擦", LIST("4B-30", "XP-2201")},
    {"修正带", LIST("5mm×6m", "XZ-601")},
    {"笔记本", LIST("B5 60页", "A5")},
};

static const simlab_item_t student_items[] = {
    {"可迁移元素(铅)", "GB 21027-2020 4.2", "≤90", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 90, 1, 380, 0, 10, NULL, NULL, 6},
    {"邻苯二甲酸酯", "GB 21027-2020 4.4", "≤0.1", "%", 'A', 1, SIMLAB_MAX, 0,
     0.1, 0.01, 2.8, 2, 0.02, NULL, NULL, 12},
    {"苯", "GB 21027-2020 4.3", "≤10", "mg/kg", 'A', 1, SIMLAB_MAX, 0, 10, 0.5,
     60, 1, 1, NULL, NULL, 6},
    {"锐利边缘", "GB 21027-2020 4.6", "不应有危险锐利边缘", NULL, 'A', 1,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "刀片处有危险锐利边缘", 8},
    {"标识", "GB 21027-2020 5", "应标注执行标准和安全警示", NULL, 'B', 0,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "未标注执行标准", 50},
};

/* ---- 建筑装饰装修材料 --------------------------------------------------- */

static const simlab_product_t paint_products[] = {
    {"合成树脂乳液内墙涂料", LIST("5L", "18L")},
    {"水性木器涂料", LIST("1L", "MQ-380 2.5L")},
};

static const simlab_item_t paint_items[] = {
    {"VOC含量", "GB 18582-2020 4", "≤80", "g/L", 'A', 1, SIMLAB_MAX, 0, 80, 2,
     210, 0, 2, NULL, NULL, 12},
    {"甲醛含量", "GB 18582-2020 4", "≤50", "mg/kg", 'A', 1, SIMLAB_MAX, 0, 50,
     1, 160, 0, 5, NULL, NULL, 6},
    {"苯系物总和含量", "GB 18582-2020 4", "≤100", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 100, 5, 320, 0, 10, NULL, NULL, 6},
    {"可溶性重金属(铅)", "GB 18582-2020 4", "≤90", "mg/kg", 'A', 1, SIMLAB_MAX,
     0, 90, 1, 280, 0, 5, NULL, NULL, 3},
    {"对比率(白色和浅色)", "GB/T 9756-2018 5", "≥0.93", NULL, 'B', 0,
     SIMLAB_MIN, 0.93, 0, 0.85, 0.98, 2, 0, NULL, NULL, 33},
    {"标志", "GB 18582-2020 7", "应符合标准要求", NULL, 'B', 0, SIMLAB_TEXT, 0,
     0, 0, 0, 0, 0, NULL, "未标注施工配比", 30},
};

/* ---- 燃气器具 ------------------------------------------------------------ */

static const simlab_product_t gas_products[] = {
    {"家用燃气灶具", LIST("JZT-2E03 天然气", "JZT-QB501", "JZY-A8 液化石油气")},
};

static const simlab_item_t gas_items[] = {
    {"气密性", "GB 16410-2020 5.3.1", "漏气量≤0.07", "L/h", 'A', 1, SIMLAB_MAX,
     0, 0.07, 0.01, 0.35, 2, 0, NULL, NULL, 8},
    {"熄火保护装置", "GB 16410-2020 5.3.12", "开阀≤15s，闭阀≤60s", NULL, 'A', 1,
     SIMLAB_TEXT, 0, 0, 0, 0, 0, 0, NULL, "闭阀时间72s", 12},
    {"烟气中CO含量", "GB 16410-2020 5.3.8", "≤0.05", "%", 'A', 1, SIMLAB_MAX, 0,
     0.05, 0.005, 0.210, 3, 0, NULL, NULL, 8},
    {"热效率", "GB 16410-2020 5.3.9", "≥63", "%", 'A', 0, SIMLAB_MIN, 63, 0, 52,
     72, 1, 0, NULL, NULL, 26},
    {"燃烧噪声", "GB 16410-2020 5.3.7", "≤65", "dB(A)", 'B', 0, SIMLAB_MAX, 0,
     65, 48, 74, 0, 0, NULL, NULL, 12},
    {"标志", "GB 16410-2020 8", "应符合标准要求", NULL, 'B', 0, SIMLAB_TEXT, 0,
     0, 0, 0, 0, 0, NULL, "未标注适用气种", 30},
};

/* Production samples fail least (the producer's own quality control is
 * checked at the gate), shops more, online sellers most (illustrative). */
const unsigned simlab_stage_nc_rate[SIMLAB_NSTAGES] = {65, 120, 185};

#define CATEGORY(name, industry, seller, products, items, grades, home, lab,   \
                 nc_rate)                                                      \
        {                                                                      \
                name, industry, seller, products, N(products), items,          \
                    N(items), grades, home, lab, nc_rate                       \
        }

const simlab_category_t simlab_categories[] = {
    CATEGORY("儿童用品", "玩具", "玩具店", toy_products, toy_items, NULL,
             P_CHENGHAI, L_XMQI, 120),
    CATEGORY("电线电缆", "电线电缆", "五金店", cable_products, cable_items,
             NULL, P_DONGGUAN, L_FJQI, 150),
    CATEGORY("家用电器及电器附件", "电器", "家电商行", appliance_products,
             appliance_items, NULL, P_SHUNDE, L_XMEB, 90),
    CATEGORY("服装", "服饰", "服装店", clothing_products, clothing_items,
             LIST("合格品", "一等品", "优等品"), P_JINJIANG, L_FJFI, 100),
    CATEGORY("家具", "家具", "家具店", furniture_products, furniture_items,
             LIST("合格品"), P_SHUNDE, L_FJQI, 90),
    CATEGORY("电动自行车", "车业", "车行", ebike_products, ebike_items, NULL,
             P_WUXI, L_FJQI, 120),
    CATEGORY("食品相关产品", "塑胶制品", "日用品店", foodcontact_products,
             foodcontact_items, NULL, P_TAIZHOU, L_XMQI, 60),
    CATEGORY("学生用品", "文具", "文具店", student_products, student_items,
             NULL, P_YIWU, L_XMQI, 100),
    CATEGORY("建筑装饰装修材料", "涂料", "建材店", paint_products, paint_items,
             NULL, P_GUANGZHOU, L_FJQI, 70),
    CATEGORY("燃气器具", "厨具", "厨卫商行", gas_products, gas_items, NULL,
             P_CIXI, L_XMEB, 100),
};
const size_t simlab_ncategories = N(simlab_categories);

size_t simlab_count(const char *const *list)
{
        size_t n = 0;
        while (list && list[n])
                n++;
        return n;
}

const simlab_district_t *simlab_district(const char *code)
{
        for (size_t i = 0; i < simlab_ndistricts; i++)
                if (!strcmp(simlab_districts[i].code, code))
                        return &simlab_districts[i];
        return NULL;
}
